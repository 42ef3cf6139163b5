"""`opsctl detect ack | remediate | status`: the operator's lifecycle for opsctl's own alerts, at a terminal."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from opsctl.cli.output import EXIT_FINDINGS, EXIT_OK, FORMAT_OPTION, JSON_SCHEMA_VERSION, Format, emit_json
from opsctl.errors import InputError

CONFIG = typer.Option(..., "--config", "-c", help="detectors.yaml")
STATE = typer.Option(None, "--state", help="State file (default: state_file from the config).")


def _lc(config: Path, state: Path | None) -> Any:
    from opsctl.detect.config import load_config

    lc = load_config(config)
    if state is not None:
        lc.state_override = state
    return lc


def _ts(v: float | None) -> str:
    return datetime.fromtimestamp(v, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if v else "-"


def ack_cmd(
    target: str = typer.Argument(..., help="A firing alert's fingerprint (or a unique prefix of it), or a "
                                           "detector name (acks all its firing alerts)."),
    for_: str = typer.Option(None, "--for", metavar="DURATION",
                             help="The ack expires after this long (default: when the alert resolves)."),
    comment: str = typer.Option("", "--comment", help="Why; recorded in the history."),
    author: str = typer.Option(None, "--author", help="Who (default: the user)."),
    config: Path = CONFIG, state: Path | None = STATE, fmt: Format = FORMAT_OPTION,
) -> None:
    """Acknowledge a firing alert: no more repeats until it resolves or the ack expires (escalations still go
    out). Recorded as an `acked` event, shown by `detect history` and `detect status`."""
    from opsctl.detect.state import State
    from opsctl.durations import parse_duration
    from opsctl.live.settings import _user

    lc = _lc(config, state)
    now = time.time()
    until = None
    if for_:
        try:
            until = now + parse_duration(for_)
        except ValueError as exc:
            raise InputError(str(exc), "--for") from None
    who = author or _user()
    if not lc.state_path.exists():
        raise InputError("no state file yet: nothing is firing", str(lc.state_path))
    st = State(lc.state_path)
    try:
        firing = st.firing()
        hit = [r for r in firing if r["detector"] == target]
        if not hit:
            hit = [r for r in firing if str(r["fingerprint"]).startswith(target)]
            if len(hit) > 1:
                raise InputError(f"{target!r} is the start of {len(hit)} fingerprints: give more of it", "<target>")
        if not hit:
            raise InputError(f"no firing alert with fingerprint or detector {target!r}", "<target>")
        for r in hit:
            st.ack(now, r["fingerprint"], r["detector"], until, who, comment)
        st.commit()
    finally:
        st.close()
    done = [{"fingerprint": r["fingerprint"], "detector": r["detector"], "until": until} for r in hit]
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "acked": done, "author": who})
    else:
        for d in done:
            typer.echo(f"acked {d['fingerprint']} ({d['detector']}) until "
                       + (_ts(until) if until else "it resolves"))


def remediate_cmd(
    detector: str = typer.Argument(..., help="Detector whose mapped remediation actions to run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would run; run nothing."),
    config: Path = CONFIG, state: Path | None = STATE, fmt: Format = FORMAT_OPTION,
) -> None:
    """Run a detector's mapped, allow-listed remediation actions on purpose (remediation.enabled must be true),
    with a run's retries and audit. Exit 1 when an action failed or was not run."""
    from opsctl.cli.output import console
    from opsctl.detect.engine import Engine, LockedError
    from opsctl.live.settings import _user

    lc = _lc(config, state)
    try:
        report = Engine(lc, dry_run=dry_run).remediate_on_purpose(detector, who=_user())
    except LockedError as exc:
        console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_FINDINGS) from None
    rems = report.remediations
    ok = all(r.get("ok") is True for r in rems) if not dry_run else True
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "dry_run": dry_run, "remediations": rems, "ok": ok})
    else:
        for r in rems:
            state_ = "skipped: " + r["skipped"] if r.get("skipped") else ("ok" if r.get("ok") else "FAILED")
            typer.echo(f"{r['action']} ({r['what']}): {state_}"
                       + (f" after {r['attempts']} attempt(s)" if r.get("attempts") else ""))
            if r.get("output"):
                typer.echo("  " + str(r["output"]).strip().replace("\n", "\n  "))
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)


def status_doc(lc: Any) -> dict[str, Any]:
    from opsctl.detect.state import State

    now = time.time()
    doc: dict[str, Any] = {"state_file": str(lc.state_path), "last_run": None, "firing": [], "spool": {},
                           "detectors": []}
    names = [d.name for d in lc.config.detectors]
    if not lc.state_path.exists():
        doc["detectors"] = [{"name": n, "last_event": None, "firing": 0} for n in names]
        return doc
    st = State(lc.state_path, readonly=True)
    try:
        run = st.db.execute("SELECT started, finished, exit_code FROM runs WHERE finished IS NOT NULL "
                            "ORDER BY id DESC LIMIT 1").fetchone()
        if run is not None:
            doc["last_run"] = {"started": run["started"], "finished": run["finished"], "exit_code": run["exit_code"],
                               "age_seconds": round(now - float(run["finished"]), 1)}
        acks = {a["fingerprint"]: a for a in st.acks()}
        for r in st.firing():
            a = acks.get(r["fingerprint"])
            live = a is not None and (a["until"] is None or float(a["until"]) > now)
            doc["firing"].append({"fingerprint": r["fingerprint"], "detector": r["detector"],
                                  "severity": r["severity"], "since": r["first_seen"], "message": r["message"],
                                  "acked": bool(live), "acked_by": a["author"] if live and a else None,
                                  "ack_until": a["until"] if live and a else None})
        for row in st.db.execute("SELECT receiver, count(*) AS n FROM spool GROUP BY receiver"):
            doc["spool"][row["receiver"]] = row["n"]
        last = {row["detector"]: row["ts"] for row in
                st.db.execute("SELECT detector, max(ts) AS ts FROM events GROUP BY detector")}
    finally:
        st.close()
    for n in names:
        doc["detectors"].append({"name": n, "last_event": last.get(n),
                                 "firing": sum(1 for f in doc["firing"] if f["detector"] == n)})
    return doc


def render_status(doc: dict[str, Any]) -> str:
    lines = []
    lr = doc["last_run"]
    lines.append("last run: " + (f"{_ts(lr['finished'])} ({lr['age_seconds']:.0f}s ago), exit {lr['exit_code']}"
                                 if lr else "never") + " (every run runs every detector)")
    lines.append(f"firing: {len(doc['firing'])}, acked: {sum(f['acked'] for f in doc['firing'])}, "
                 f"spooled: {sum(doc['spool'].values())}"
                 + (" (" + ", ".join(f"{k}: {v}" for k, v in sorted(doc['spool'].items())) + ")" if doc["spool"]
                    else ""))
    if doc["firing"]:
        lines.append("")
        for f in doc["firing"]:
            ack = f" [acked by {f['acked_by']}" + (f" until {_ts(f['ack_until'])}]" if f["ack_until"] else "]") \
                if f["acked"] else ""
            lines.append(f"  {f['severity'].upper():<8} {f['detector']}  since {_ts(f['since'])}  "
                         f"{f['fingerprint'][:12]}{ack}  {f['message']}")
    lines.append("")
    for d in doc["detectors"]:
        lines.append(f"  {d['name']:<30} firing {d['firing']:<3} last event {_ts(d['last_event'])}")
    return "\n".join(lines) + "\n"


def status_cmd(
    watch: float = typer.Option(None, "--watch", metavar="SECONDS", help="Refresh every SECONDS, in place."),
    config: Path = CONFIG, state: Path | None = STATE, fmt: Format = FORMAT_OPTION,
) -> None:
    """What is firing, acked and spooled, and when the detectors last ran (from the state file)."""
    from opsctl.cli.am_live import watch_loop
    from opsctl.secrets import redact

    lc = _lc(config, state)
    if fmt is Format.json:
        from opsctl.secrets import redact_obj

        emit_json({"schema_version": JSON_SCHEMA_VERSION, **redact_obj(status_doc(lc))})
        return
    watch_loop(lambda: redact(render_status(status_doc(lc))), watch)
