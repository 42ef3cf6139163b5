"""`opsctl detect`: one-shot anomaly detectors, health checks and alerting, built for cron."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from opsctl.cli.output import EXIT_FINDINGS, EXIT_OK, FORMAT_OPTION, Format, console, emit_json
from opsctl.data.exports import read_export
from opsctl.detect.config import LoadedConfig, load_config
from opsctl.detect.engine import Engine, LockedError
from opsctl.detect.registry import ANOMALY_DETECTORS, entries, make_anomaly_detector
from opsctl.detect.state import State
from opsctl.durations import parse_duration
from opsctl.errors import InputError

app = typer.Typer(help="Run detectors and health checks, alert once, remember, never lose an alert (cron).",
                  no_args_is_help=True)

CONFIG = typer.Option(..., "--config", "-c", help="detectors.yaml")
STATE = typer.Option(None, "--state", help="State file (default: state_file from the config).")


def _load(config: Path, state: Path | None) -> LoadedConfig:
    lc = load_config(config)
    if state is not None:
        lc.state_override = state
    return lc


@app.command("run")
def run_cmd(
    config: Path = CONFIG,
    state: Path | None = STATE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Evaluate only: no notifications, no remediation, "
                                 "no state changes."),
    textfile: Path | None = typer.Option(None, "--textfile", help="Write Prometheus text-format metrics about "
                                         "the run here (node_exporter textfile collector)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing unless something was sent, an alert "
                               "changed state, or a delivery or remediation failed (for cron mail)."),
    exit_code: str = typer.Option("firing", "--exit-code", help="firing: exit 1 while any problem persists or "
                                  "anything is undelivered; new: exit 1 only for a new or escalated problem or a "
                                  "failed delivery/remediation (0 while known problems keep firing)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Run every detector once: exit 0 all ok, 1 something failed (or another run holds the lock).

    With --exit-code new, 1 means "a new problem, or a delivery failed" and 0 "nothing new to say"."""
    if exit_code not in ("firing", "new"):
        raise InputError(f"--exit-code: expected firing or new, got {exit_code!r}", "<command line>")
    lc = _load(config, state)
    try:
        report = Engine(lc, dry_run=dry_run).run(textfile=textfile)
    except LockedError as exc:
        if fmt == Format.json:
            emit_json({"schema_version": 1, "error": "locked", "message": str(exc)})
        else:
            console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_FINDINGS) from None
    doc = report.to_dict()
    code = report.exit_code_for(exit_code)
    if quiet and not report.noteworthy:
        raise typer.Exit(code)
    if fmt == Format.json:
        emit_json(doc)
    else:
        out = console()
        for r in report.results:
            mark = "ok  " if r.ok else ("ERR " if r.error else "FAIL")
            out.print(f"{mark} {r.detector} [{r.severity}] {r.message}", markup=False)
        for n in report.notifications:
            to = ", ".join(n["receivers"]) or "no receiver"
            out.print(f"notify {n['event']} {n['detector']} ({n['severity']}) -> {to}", markup=False)
        for rem in report.remediations:
            status = rem.get("skipped") or ("ok" if rem.get("ok") else f"failed: {rem.get('output', '')}")
            out.print(f"remediate {rem['action']} ({rem['what']}): {status}", markup=False)
        for d in report.deliveries:
            if not d["ok"]:
                out.print(f"delivery to {d['receiver']} failed ({d.get('error')}); kept in the spool", markup=False)
        c = report.counts
        out.print(f"{c['checks']} results, {c['failures']} failing ({c['errors']} detector errors), "
                  f"{c['notifications']} notifications, {c['deduplicated']} deduplicated, "
                  f"{c['suppressed']} held back, {c['delivered']} delivered, {c['delivery_failures']} delivery "
                  f"failures, {c['spool_pending']} in spool" + (" [dry run]" if dry_run else ""), markup=False)
    raise typer.Exit(code)


@app.command("validate")
def validate_cmd(config: Path = CONFIG, fmt: Format = FORMAT_OPTION) -> None:
    """Validate a config and read its file sources as a run would (file:line:col errors, exit 2 when invalid)."""
    from opsctl.detect.sources import check_files

    lc = load_config(config)
    check_files(lc)
    cfg = lc.config
    doc = {"schema_version": 1, "valid": True, "detectors": [d.name for d in cfg.detectors],
           "sources": sorted(cfg.sources), "receivers": sorted(cfg.alerting.receivers),
           "actions": sorted(cfg.remediation.actions)}
    if fmt == Format.json:
        emit_json(doc)
    else:
        console().print(f"{config}: ok ({len(cfg.detectors)} detectors, {len(cfg.sources)} sources, "
                        f"{len(cfg.alerting.receivers)} receivers)", markup=False)
    raise typer.Exit(EXIT_OK)


@app.command("history")
def history_cmd(
    config: Path = CONFIG,
    state: Path | None = STATE,
    limit: int = typer.Option(50, "--limit", help="Rows per table."),
    since: str | None = typer.Option(None, "--since", help="Only entries newer than this: a duration ago (24h) or a "
                                     "time (2026-01-31T12:00:00Z, 2026-01-31, Unix seconds, now-1h)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Alert events, deliveries, remediations, the spool and what is firing, from the state file."""
    lc = _load(config, state)
    since_ts = None
    if since:
        try:
            since_ts = time.time() - parse_duration(since)
        except ValueError:
            from opsctl.timeparse import parse_time

            since_ts = parse_time(since, what="--since")  # a time, or one InputError naming --since
    if not lc.state_path.exists():
        hist: dict[str, list[dict[str, Any]]] = {k: [] for k in ("events", "deliveries", "remediations", "spool",
                                                                  "firing")}
    else:
        st = State(lc.state_path, readonly=True)
        try:
            hist = st.history(limit, since_ts)
        finally:
            st.close()
    if fmt == Format.json:
        emit_json({"schema_version": 1, **hist})
        raise typer.Exit(EXIT_OK)
    out = console()
    if not out.is_terminal:
        out.width = 100_000  # piped: whole rows, each table only as wide as its content

    def ts(v: float) -> str:
        return datetime.fromtimestamp(v, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    for title, rows, cols in (
        ("Firing", hist["firing"], [("since", lambda r: ts(r["first_seen"])), ("detector", "detector"),
                                    ("severity", "severity"), ("message", "message")]),
        ("Alert events", hist["events"], [("time", lambda r: ts(r["ts"])), ("event", "event"),
                                          ("detector", "detector"), ("severity", "severity"), ("message", "message")]),
        ("Deliveries", hist["deliveries"], [("time", lambda r: ts(r["ts"])), ("receiver", "receiver"),
                                            ("action", "action"), ("ok", lambda r: "yes" if r["ok"] else "no"),
                                            ("attempts", "attempts"), ("error", lambda r: r["error"] or "")]),
        ("Remediations", hist["remediations"], [("time", lambda r: ts(r["ts"])), ("action", "action"),
                                                ("detector", "detector"), ("ok", lambda r: "yes" if r["ok"] else "no"),
                                                ("output", "output")]),
        ("Spool (undelivered)", hist["spool"], [("queued", lambda r: ts(r["created"])), ("receiver", "receiver"),
                                                ("action", "action"), ("attempts", "attempts"),
                                                ("last error", lambda r: r["last_error"] or "")]),
    ):
        table = Table(title=f"{title} ({len(rows)})", title_justify="left")
        for name, _ in cols:
            table.add_column(name)
        for row in rows:
            table.add_row(*[str(get(row) if callable(get) else row[str(get)]) for _, get in cols])
        out.print(table)
    raise typer.Exit(EXIT_OK)


@app.command("spool")
def spool_cmd(
    config: Path = CONFIG,
    state: Path | None = STATE,
    drop: list[int] = typer.Option([], "--drop", help="Take the spool entry with this id out (repeatable)."),
    drop_unconfigured: bool = typer.Option(False, "--drop-unconfigured", help="Take out every entry whose "
                                           "receiver is no longer in the config."),
    export_to: Path | None = typer.Option(None, "--export", help="Write the entries (with their payloads) to this "
                                          "new file as JSON lines; required with --drop/--drop-unconfigured, "
                                          "which write what they take out here first."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Notifications waiting in the spool; take some out on purpose (exported first, recorded in the history)."""
    from opsctl.detect import spool

    lc = _load(config, state)
    dropping = bool(drop) or drop_unconfigured
    if dropping and export_to is None:
        raise InputError("--drop and --drop-unconfigured need --export FILE: what they take out is written there "
                         "first", "--export")
    dropped: list[spool.SpoolEntry] = []
    if dropping and export_to is not None:
        try:
            dropped = spool.drop(lc, set(drop), drop_unconfigured, export_to, time.time())
        except LockedError as exc:
            console(stderr=True).print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_FINDINGS) from None
    pending = spool.entries(lc)
    if export_to is not None and not dropping:
        spool.export(pending, export_to)
    if fmt == Format.json:
        emit_json({"schema_version": 1, "entries": [e.to_dict() for e in pending],
                   "dropped": [e.to_dict() for e in dropped], "export": str(export_to) if export_to else None})
        raise typer.Exit(EXIT_OK)
    out = console()
    if not out.is_terminal:
        out.width = 100_000  # piped: whole rows
    table = Table(title=f"Spool ({len(pending)} waiting)", title_justify="left")
    for name in ("id", "queued", "receiver", "configured", "action", "attempts", "last error"):
        table.add_column(name)
    for e in pending:
        table.add_row(str(e.id), datetime.fromtimestamp(e.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                      escape(e.receiver), "yes" if e.configured else "[bold red]no[/]", escape(e.action),
                      str(e.attempts), escape(e.last_error or ""))
    out.print(table)
    if dropped:
        out.print(f"took {len(dropped)} notification(s) out of the spool; written to {export_to}", markup=False)
    elif export_to is not None:
        out.print(f"wrote {len(pending if not dropping else dropped)} notification(s) to {export_to}", markup=False)
    raise typer.Exit(EXIT_OK)


@app.command("list")
def list_cmd(fmt: Format = FORMAT_OPTION) -> None:
    """Registered anomaly detectors, health checks, notifiers and remediation actions."""
    items = entries()
    if fmt == Format.json:
        emit_json({"schema_version": 1, "items": [e.to_dict() for e in items]})
        raise typer.Exit(EXIT_OK)
    table = Table()
    for c in ("category", "id", "summary"):
        table.add_column(c)
    for e in items:
        table.add_row(e.category, e.id, e.summary)
    console().print(table)
    raise typer.Exit(EXIT_OK)


@app.command("score")
def score_cmd(
    path: Path = typer.Argument(..., help="Export file: Prometheus JSON, CSV or Parquet."),
    detector: str = typer.Option("likelihood", "--detector", help="Anomaly detector id (see `detect list`)."),
    param: list[str] = typer.Option([], "--param", help="Detector parameter key=value (repeatable)."),
    alert_score: float = typer.Option(0.5, "--alert-score", help="Report points scoring at least this."),
    top: int = typer.Option(20, "--top", help="Show at most this many anomalous points per series."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Score every point of an exported series with one detector; exit 1 when anomalies are found."""
    if detector not in ANOMALY_DETECTORS:
        raise InputError(f"unknown detector {detector!r} (known: {', '.join(ANOMALY_DETECTORS)})", "--detector")
    params: dict[str, Any] = {}
    for p in param:
        key, sep, value = p.partition("=")
        if not sep:
            raise InputError(f"expected key=value, got {p!r}", "--param")
        params[key] = value
    try:
        det = make_anomaly_detector(detector, params)
    except Exception as exc:
        raise InputError(f"invalid parameters: {str(exc).splitlines()[0]}", "--param") from None
    import numpy as np

    series = read_export(path)
    if not any(len(s) for s in series):
        raise InputError("no samples: nothing to score (only a header?)", str(path), 2)
    doc: dict[str, Any] = {"schema_version": 1, "detector": detector, "series": []}
    found = 0
    for s in series:
        with np.errstate(all="ignore"):  # values near +-1e308 overflow sums: they score 1, without warnings
            frame = det.score(s.timestamps, s.values)
        idx = [int(i) for i in (frame.score >= alert_score).nonzero()[0]]
        found += len(idx)
        pts = []
        for i in idx[:top]:
            pt = frame.point(i)
            pt["timestamp"] = datetime.fromtimestamp(float(s.timestamps[i]), UTC).isoformat()
            pts.append(pt)
        doc["series"].append({"labels": s.labels, "points": len(s), "anomalies": len(idx), "top": pts})
    if fmt == Format.json:
        emit_json(doc)
    else:
        out = console()
        for s in doc["series"]:
            out.print(f"{s['labels']}: {s['anomalies']} anomalous of {s['points']} points", markup=False)
            for pt in s["top"]:
                base = "n/a" if pt["baseline"] is None else f"{pt['baseline']:.6g}"
                out.print(f"  {pt['timestamp']} {pt['type']:<12} score {pt['score']:.2f} observed "
                          f"{pt['observed']:.6g} baseline {base} confidence {pt['confidence']:.2f}", markup=False)
    raise typer.Exit(EXIT_FINDINGS if found else EXIT_OK)


# --- operator lifecycle (opsctl/cli/detect_live.py) -----------------------------------------------
from opsctl.cli import detect_live  # noqa: E402

app.command("ack")(detect_live.ack_cmd)
app.command("remediate")(detect_live.remediate_cmd)
app.command("status")(detect_live.status_cmd)
