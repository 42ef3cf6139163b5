"""`opsctl slo`: validate SLO specs, generate Prometheus rules, report compliance from data."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from opsctl.cli.output import EXIT_FINDINGS, EXIT_OK, FORMAT_OPTION, Format, allow_fast_exit, console, emit_json
from opsctl.cli.prom_options import CA_FILE_OPTION, CERT_FILE_OPTION, INSECURE_OPTION, KEY_FILE_OPTION
from opsctl.durations import parse_duration
from opsctl.errors import InputError
from opsctl.slo import generate as gen
from opsctl.slo import render
from opsctl.slo.model import SLO, SLOGroup
from opsctl.slo.report import Options, report_from_export, summary
from opsctl.slo.spec import LABEL_RE, load_spec, spec_files
from opsctl.slo.windows import WindowCatalog, load_catalog

app = typer.Typer(help="SLOs from sloth / OpenSLO specs: validate, generate Prometheus rules, report compliance.",
                  no_args_is_help=True)

SPEC_ARG = typer.Argument(..., help="SLO spec: sloth prometheus/v1 or PrometheusServiceLevel, pyrra "
                          "ServiceLevelObjective, OpenSLO v1 or v1alpha (YAML).")
WINDOWS_OPTION = typer.Option([], "--slo-period-windows-path", help="sloth AlertWindows catalog file or directory "
                              "(repeatable): alert windows for SLO periods other than the built-in 28d and 30d.")
DEFAULT_PERIOD_OPTION = typer.Option("30d", "--default-slo-period", help="Period of sloth specs (they carry "
                                     "none), as sloth's --default-slo-period.")


def _period(text: str) -> float:
    try:
        secs = parse_duration(text)
    except ValueError as exc:
        raise InputError(f"--default-slo-period: {exc}", "<command line>") from None
    if secs <= 0:
        raise InputError("--default-slo-period must be positive", "<command line>")
    return secs


def _group_by(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not LABEL_RE.match(n) or n == "__name__"]
    if not names or bad:
        raise InputError(f"--group-by {text!r}: expected label names separated by commas", "<command line>")
    return names


def _catalog(paths: list[Path]) -> WindowCatalog | None:
    return load_catalog(paths) if paths else None


def _load_specs(spec: Path, default_period: float, include: str | None = None,
                exclude: str | None = None) -> list[SLOGroup]:
    """A spec file, or every `*.yaml`/`*.yml` spec of a directory (recursively, as sloth's `-i DIR`)."""
    if spec.is_dir():
        files = spec_files(spec, include, exclude)
        if not files:
            raise InputError("no spec file (*.yaml, *.yml) in this directory matches", str(spec))
        return [g for f in files for g in load_spec(f, default_period=default_period)]
    if include or exclude:
        raise InputError("--fs-include/--fs-exclude apply to a directory input", str(spec))
    return load_spec(spec, default_period=default_period)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@app.command("validate")
def validate_cmd(spec: Path = SPEC_ARG, windows: list[Path] = WINDOWS_OPTION,
                 default_period: str = DEFAULT_PERIOD_OPTION,
                 fs_include: str | None = typer.Option(None, "--fs-include", help="Directory input: only spec "
                                                       "paths matching this RE2 regex."),
                 fs_exclude: str | None = typer.Option(None, "--fs-exclude", help="Directory input: skip spec "
                                                       "paths matching this RE2 regex."),
                 fmt: Format = FORMAT_OPTION) -> None:
    """Check a spec (or a directory of specs); print its SLOs. Exit 2 with file:line:col on the first problem."""
    groups = _load_specs(spec, _period(default_period), fs_include, fs_exclude)
    gen.generate(groups, gen.Options(windows=_catalog(windows)))  # every period has alert windows
    slos = [s for g in groups for s in g.slos]
    if fmt == Format.json:
        emit_json({"schema_version": 1, "file": str(spec), "slos": [_slo_json(s) for s in slos]})
        raise typer.Exit(EXIT_OK)
    c = console()
    for s in slos:
        c.print(f"{s.file}:{s.line}: {s.id}: {s.spec}, objective {s.objective:g}%, {s.budgeting}, "
                f"{'calendar' if s.calendar else 'rolling'} {render.dur(s.period)}, SLI {s.sli.kind}", markup=False)
    c.print(f"{len(slos)} SLO(s) valid", markup=False)


def _slo_json(s: SLO) -> dict[str, object]:
    return {"id": s.id, "name": s.name, "service": s.service, "spec": s.spec, "objective": s.objective,
            "period_seconds": s.period, "calendar": s.calendar is not None, "budgeting": s.budgeting,
            "sli_kind": s.sli.kind, "file": s.file, "line": s.line}


def _labels(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not LABEL_RE.match(k) or not v:
            raise InputError(f"--extra-label {p!r}: expected name=value", "<command line>")
        out[k] = v
    return out


@app.command("generate")
def generate_cmd(
    spec: Path = SPEC_ARG,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the rule file here (default stdout)."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Write one rule file per spec document "
                                        "(sloth's layout) into this directory."),
    extra_label: list[str] = typer.Option([], "--extra-label", help="Label added to every rule (name=value)."),
    version_label: str = typer.Option(gen.Options().version, "--sloth-version",
                                      help="Value of the sloth_version label of sloth_slo_info."),
    windows: list[Path] = WINDOWS_OPTION,
    default_period: str = DEFAULT_PERIOD_OPTION,
    disable_recordings: bool = typer.Option(False, "--disable-recordings", help="No SLI and metadata recording "
                                            "rules (sloth's --disable-recordings)."),
    disable_alerts: bool = typer.Option(False, "--disable-alerts", help="No alert rules (sloth's "
                                        "--disable-alerts)."),
    disable_optimizations: bool = typer.Option(False, "--disable-optimizations", help="Compute the period SLI "
                                               "from the SLI query over the whole period instead of averaging "
                                               "the shortest window's rule (sloth's --disable-optimizations)."),
    external_url: str = typer.Option("", "--external-url", help="pyrra specs: the pyrra UI URL, added to burn-rate "
                                     "alerts as the pyrra_url annotation (pyrra's --external-url)."),
    generic_rules: bool = typer.Option(False, "--generic-rules", help="pyrra specs: also write pyrra's generic "
                                       "recording rules (pyrra_objective, pyrra_window, pyrra_availability, "
                                       "pyrra_requests:rate5m, pyrra_errors:rate5m) for Grafana; not for "
                                       "objectives with grouping, as in pyrra (pyrra's --generic-rules)."),
    fs_include: str | None = typer.Option(None, "--fs-include", help="Directory input: only spec paths matching "
                                          "this RE2 regex (sloth's --fs-include)."),
    fs_exclude: str | None = typer.Option(None, "--fs-exclude", help="Directory input: skip spec paths matching "
                                          "this RE2 regex (sloth's --fs-exclude)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Generate Prometheus recording and alerting rules (sloth-compatible; pyrra-equal for pyrra specs).

    SPEC is a file or a directory of specs. A sloth PrometheusServiceLevel CRD gives a PrometheusRule manifest,
    as sloth writes it."""
    groups = _load_specs(spec, _period(default_period), fs_include, fs_exclude)
    opts = gen.Options(extra_labels=_labels(extra_label), version=version_label, windows=_catalog(windows),
                       disable_recordings=disable_recordings, disable_alerts=disable_alerts,
                       disable_optimizations=disable_optimizations, pyrra_external_url=external_url,
                       pyrra_generic_rules=generic_rules)
    if generic_rules:
        for s in gen.generic_rules_skipped(groups):
            sys.stderr.write(f"warning: {s.file}:{s.line}: SLO {s.id}: no generic rules for an objective with "
                             "grouping (as pyrra)\n")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for g in groups:
            stem = Path(g.file).stem
            same = [x for x in groups if x.file == g.file]
            name = f"{stem}.yml" if len(same) == 1 else f"{stem}-{same.index(g) + 1}.yml"
            target = out_dir / name
            _write_atomic(target, gen.documents_to_yaml(gen.generate_documents([g], opts)))
            written.append(str(target))
        if fmt == Format.json:
            emit_json({"schema_version": 1, "files": written})
        else:
            for w in written:
                console().print(w, markup=False)
        return
    docs = gen.generate_documents(groups, opts)
    if fmt == Format.json:
        if len(docs) == 1 and "groups" in docs[0]:
            text = json.dumps({"schema_version": 1, **docs[0]}, indent=2) + "\n"
        else:
            text = json.dumps({"schema_version": 1, "documents": docs}, indent=2) + "\n"
    else:
        text = gen.documents_to_yaml(docs)
    if output is not None:
        _write_atomic(output, text)
    else:
        sys.stdout.write(text)


def _time(text: str | None, what: str = "--to") -> float | None:
    if text is None:
        return None
    from opsctl.timeparse import parse_time

    return parse_time(text, what=what)


@app.command("report")
def report_cmd(
    spec: Path = SPEC_ARG,
    data: Path | None = typer.Option(None, "--data", help="Export: Prometheus query_range JSON, CSV or "
                                     "Parquet (Parquet is streamed in bounded memory)."),
    prometheus: str | None = typer.Option(None, "--prometheus", help="Prometheus/Thanos/Mimir base URL; queries "
                                          "are evaluated on the server."),
    bearer_token_file: Path | None = typer.Option(None, "--bearer-token-file", help="File holding a bearer token "
                                                  "for --prometheus (or env OPSCTL_PROMETHEUS_TOKEN)."),
    header: list[str] = typer.Option([], "--header", help="Extra HTTP header for --prometheus (Name: value)."),
    timeout: float = typer.Option(30.0, "--timeout", help="HTTP timeout in seconds for --prometheus."),
    ca_file: Path | None = CA_FILE_OPTION,
    cert_file: Path | None = CERT_FILE_OPTION,
    key_file: Path | None = KEY_FILE_OPTION,
    insecure_skip_verify: bool = INSECURE_OPTION,
    slo_ids: list[str] = typer.Option([], "--slo", help="Only these SLO ids (repeatable)."),
    to: str | None = typer.Option(None, "--to", help="Window end (RFC 3339, Unix seconds, now, -1d: see docs/cli.md); "
                                  "the window is the SLO period up to here; default: the last sample of the export, "
                                  "or now for --prometheus."),
    end: str | None = typer.Option(None, "--end", hidden=True, help="Old name of --to."),
    step: str | None = typer.Option(None, "--step", help="Report resolution (Prometheus duration); default 1m or "
                                    "the export's sample spacing; Timeslices use the slice window."),
    top: int = typer.Option(10, "--top", min=1, help="How many budget-burning periods to list."),
    on_duplicate: str = typer.Option("error", "--on-duplicate", help="Two different values for one series at "
                                     "one time (merged exports of two replicas): 'error' (default, names both "
                                     "rows) or 'keep-first' (the first row read wins). Exact duplicates are "
                                     "always dropped."),
    alert_history: bool = typer.Option(False, "--alert-history", help="Replay the spec's generated burn-rate "
                                       "alerts over the period with the embedded PromQL engine: when each would "
                                       "have fired and resolved (export input; reads the export into memory)."),
    prometheus_version: str | None = typer.Option(None, "--prometheus-version", help="--alert-history: replay "
                                                  "with this Prometheus version's semantics (e.g. 2.42; default "
                                                  "3.16, as rules backtest)."),
    group_by: str | None = typer.Option(None, "--group-by", help="Split each SLI by these labels (comma-separated): "
                                        "one SLI, budget and alert state per label set, plus the total. Default: "
                                        "the labels the SLI queries keep (sum by (...))."),
    windows: list[Path] = WINDOWS_OPTION,
    default_period: str = DEFAULT_PERIOD_OPTION,
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write an HTML report (.html, burn-down "
                                       "chart as inline SVG) or a PNG chart (.png: burn-down and burn rates, "
                                       "one panel pair per SLO; choose SLOs with --slo)."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """SLI, compliance, error budget, burn rates, burning periods, gaps, daily table and burn-down.

    Exit 0 when every objective is met, 1 when one is violated or has no data, 2 on bad input."""
    if (data is None) == (prometheus is None):
        raise InputError("give exactly one of --data EXPORT and --prometheus URL", "<command line>")
    if output is not None and output.suffix.lower() not in (".html", ".htm", ".png"):
        raise InputError("--output: unknown file type (expected .html or .png)", str(output))
    step_s = None
    if step is not None:
        try:
            step_s = parse_duration(step)
        except ValueError as exc:
            raise InputError(f"--step: {exc}", "<command line>") from None
        if step_s <= 0:
            raise InputError("--step must be positive", "<command line>")
    if output is not None and output.suffix.lower() == ".png":
        try:  # before the work: matplotlib is the optional `png` extra
            import matplotlib  # noqa: F401
        except ImportError:
            from opsctl.slo.render_png import MISSING_MATPLOTLIB

            raise InputError(MISSING_MATPLOTLIB, str(output)) from None
    slos = [s for g in _load_specs(spec, _period(default_period)) for s in g.slos]
    if slo_ids:
        unknown = sorted(set(slo_ids) - {s.id for s in slos})
        if unknown:
            raise InputError(f"--slo: no SLO with id {', '.join(unknown)} (ids: {', '.join(s.id for s in slos)})",
                             str(spec))
        slos = [s for s in slos if s.id in slo_ids]
    if to is not None and end is not None:
        raise InputError("give --to only (--end is its old name)", "<command line>")
    if on_duplicate not in ("error", "keep-first"):
        raise InputError(f"--on-duplicate {on_duplicate!r}: expected error or keep-first", "<command line>")
    opts = Options(end=_time(to) if to is not None else _time(end, "--end"), step=step_s, top=top,
                   windows=_catalog(windows), on_duplicate=on_duplicate, group_by=_group_by(group_by),
                   alert_history=alert_history, prometheus_version=prometheus_version)
    if data is not None:
        from opsctl.cli.progress import progress_bar, wanted

        with progress_bar(f"reading {data.name}", None, enabled=wanted(machine_output=fmt == Format.json)) as rows:
            reports = report_from_export(slos, data, opts, progress=rows)
    else:
        assert prometheus is not None
        from opsctl.cli.prom_options import prometheus_client, tls_options
        from opsctl.slo.prom import report_from_prometheus

        tls = tls_options(ca_file, cert_file, key_file, insecure_skip_verify, url=prometheus)
        client = prometheus_client(prometheus, bearer_token_file=bearer_token_file, header=header, timeout=timeout,
                                   tls=tls)
        with client:
            reports = report_from_prometheus(slos, client, opts)
    doc = summary(reports)
    if output is not None and output.suffix.lower() == ".png":
        from opsctl.slo.render_png import write_png  # imports matplotlib: only when a PNG is asked for
        write_png(doc, output)
    elif output is not None:
        _write_atomic(output, render.html_report(doc))
    if fmt == Format.json:
        emit_json(doc)
    else:
        console().print(render.text_report(doc), markup=False, end="")
    # the report is written and flushed; leave without running native libraries' exit-time destructors
    # (a pyarrow/numpy worker thread torn down at interpreter exit once aborted the process under load)
    allow_fast_exit()
    raise typer.Exit(EXIT_FINDINGS if doc["violated"] or doc["no_data"] else EXIT_OK)
