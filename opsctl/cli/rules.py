"""`opsctl rules`: validate, test and backtest Prometheus rule files."""

from __future__ import annotations

import gc
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsctl.cli.output import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    FORMAT_OPTION,
    Format,
    allow_fast_exit,
    console,
    emit_json,
    plain_stdout,
    standalone,
)
from opsctl.cli.prom_options import CA_FILE_OPTION, CERT_FILE_OPTION, INSECURE_OPTION, KEY_FILE_OPTION
from opsctl.errors import InputError
from opsctl.rules.checks import REGISTRY
from opsctl.rules.config import RulesConfig, discover_config, load_config
from opsctl.rules.model import Severity
from opsctl.rules.versions import PromVersion

if TYPE_CHECKING:
    from opsctl.live.tls import TLSOptions

app = typer.Typer(help="Validate, unit-test and backtest Prometheus alerting and recording rules.",
                  no_args_is_help=True)


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    junit = "junit"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def _config(config: Path | None, prometheus_version: str | None) -> RulesConfig:
    cfg = load_config(config) if config else discover_config(Path.cwd())
    if prometheus_version:
        try:
            cfg.prometheus_version = PromVersion.parse(prometheus_version)
        except ValueError as exc:
            raise InputError(str(exc), "--prometheus-version") from None
    return cfg


def _live_evidence(cfg: RulesConfig, files: list[Path], url: str, token_file: Path | None, header: list[str],
                   timeout: float, lookback: str | None, tls: TLSOptions) -> None:
    """Ask the live server (opsctl.rules.live) and put what it says into the configuration the checks read."""
    import time

    from opsctl.cli.prom_options import prometheus_client
    from opsctl.durations import parse_duration
    from opsctl.rules.live import gather
    from opsctl.rules.loader import LoadOptions, parse_rule_file

    window = None
    if lookback:
        try:
            window = parse_duration(lookback)
        except ValueError as exc:
            raise InputError(str(exc), "--lookback") from None
    client = prometheus_client(url, bearer_token_file=token_file, header=header, timeout=timeout, retries=1,
                               tls=tls, cache=True)
    options = LoadOptions(prometheus_version=cfg.prometheus_version, check_templates=False)
    parsed = [parse_rule_file(p, options) for p in files]
    with client:
        ev = gather(parsed, client, now=time.time(), lookback=window)
    if ev.metric_types and cfg.metric_types is None:
        cfg.metric_types = ev.metric_types
    if ev.scrape_interval and cfg.scrape_interval is None:
        cfg.scrape_interval = ev.scrape_interval
    cfg.live = ev
    err = console(stderr=True)
    for note in ev.notes:
        err.print(f"note: {note}", markup=False)


CONFIG_OPTION = typer.Option(None, "--config", "-c", help="Configuration file (.opsctl.yaml or pyproject.toml); "
                             "default: discovered from the current directory upwards.", exists=False)
VERSION_OPTION = typer.Option(None, "--prometheus-version", help="Target Prometheus version (e.g. 2.42, 3.5): "
                              "decides which fields and functions are accepted; default: 3.16, the newest "
                              "supported.")


@app.command("validate")
def validate_cmd(
    paths: list[str] = typer.Argument(..., help="Rule files, directories (searched recursively) or globs."),
    fmt: ReportFormat = typer.Option(ReportFormat.text, "--format", "-f", help="Report format."),
    fail_on: FailOn | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at or above this "
                                          "severity (default from config: warning)."),
    config: Path | None = CONFIG_OPTION,
    prometheus_version: str | None = VERSION_OPTION,
    changed_since: str | None = typer.Option(None, "--changed-since", help="Lint only rules changed since this "
                                             "git revision."),
    disable: list[str] = typer.Option([], "--disable", help="Check id to switch off (repeatable)."),
    enable: list[str] = typer.Option([], "--enable", help="Off-by-default check id to switch on (repeatable)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Text: show only findings that fail the run."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes for large inputs (0: one per "
                             "CPU, 1: none). Workers start from 256 KiB of rule files per worker; large "
                             "files are cut between groups. Findings are the same either way."),
    metadata: Path | None = typer.Option(None, "--metadata", help="Metric types: a saved /api/v1/metadata "
                                         "response (JSON) or exposition text with # TYPE lines."),
    scrape_interval: str | None = typer.Option(None, "--scrape-interval", help="Scrape interval of the "
                                               "targets (e.g. 30s), for rate-range-short."),
    guess_metric_types: bool = typer.Option(False, "--guess-metric-types", help="Without metadata, guess "
                                            "counters from names (info-level findings)."),
    enable_feature: list[str] = typer.Option([], "--enable-feature", help="A Prometheus 3 feature flag the "
                                             "server runs with, e.g. promql-experimental-functions (repeatable)."),
    prometheus: str | None = typer.Option(None, "--prometheus", help="Live mode: a Prometheus/Thanos/Mimir/"
                                          "VictoriaMetrics base URL; selectors matching no series, metric types "
                                          "and the measured scrape interval."),
    bearer_token_file: Path | None = typer.Option(None, "--bearer-token-file", help="File holding a bearer token "
                                                  "for --prometheus (or env OPSCTL_PROMETHEUS_TOKEN)."),
    header: list[str] = typer.Option([], "--header", help="Extra HTTP header for --prometheus (Name: value), "
                                     "e.g. 'X-Scope-OrgID: tenant'."),
    timeout: float = typer.Option(10.0, "--timeout", help="HTTP timeout per query for --prometheus (seconds)."),
    lookback: str | None = typer.Option(None, "--lookback", help="With --prometheus: also say when series that "
                                        "match nothing now were last seen within this window (e.g. 7d), and "
                                        "how often each alert would have fired in it (live-alert-firing)."),
    ca_file: Path | None = CA_FILE_OPTION,
    cert_file: Path | None = CERT_FILE_OPTION,
    key_file: Path | None = KEY_FILE_OPTION,
    insecure_skip_verify: bool = INSECURE_OPTION,
) -> None:
    """Lint rule files: promtool's errors plus best-practice checks. Exit 0 clean, 1 findings, 2 bad input."""
    from opsctl.rules.validate import ValidationResult, expand_paths, validate

    cfg = _config(config, prometheus_version)
    if metadata is not None:
        from opsctl.rules.metadata import load_metadata

        cfg.metric_types = load_metadata(metadata)
    if scrape_interval is not None:
        from opsctl.durations import parse_duration

        try:
            cfg.scrape_interval = parse_duration(scrape_interval)
        except ValueError as exc:
            raise InputError(str(exc), "--scrape-interval") from None
    if guess_metric_types:
        cfg.guess_metric_types = True
    for feature in enable_feature:
        from opsctl.rules.config import check_feature

        for name in feature.split(","):
            try:
                check_feature(name.strip())
            except ValueError as exc:
                raise InputError(str(exc), "--enable-feature") from None
            cfg.enable_features.append(name.strip())
    for cid in [*disable, *enable]:
        if cid not in REGISTRY:
            raise InputError(f"unknown check id {cid!r} (see `opsctl rules checks`)", "--disable/--enable")
    cfg.disable |= set(disable)
    cfg.enable |= set(enable)
    threshold_name = fail_on.value if fail_on else cfg.fail_on.name
    files, skipped = expand_paths(paths)
    if prometheus:
        from opsctl.cli.prom_options import tls_options

        tls = tls_options(ca_file, cert_file, key_file, insecure_skip_verify, url=prometheus)
        _live_evidence(cfg, files, prometheus, bearer_token_file, header, timeout, lookback, tls)
    only = None
    if changed_since:
        from opsctl.rules.gitdiff import changed_lines, removed_records

        only = changed_lines(changed_since, files)
        cfg.removed_records = removed_records(changed_since, files)
    if standalone():
        # A one-shot process: the cyclic collector would only rescan the rules' millions of objects (which
        # hold no cycles) after linting; what little cyclic garbage there is goes with the process.
        gc.disable()
    from opsctl.cli.progress import progress_bar, wanted

    with progress_bar("validating", len(files), enabled=len(files) > 1 and wanted(
            machine_output=fmt != ReportFormat.text, quiet=quiet)) as step:
        result: ValidationResult = validate(files, cfg, only_rules=only, jobs=jobs, progress=step)
    result.skipped = skipped
    result.live = cfg.live
    allow_fast_exit()
    threshold = Severity.parse(threshold_name) if threshold_name != "never" else None
    report_level = threshold_name if threshold_name != "never" else "error"
    if fmt == ReportFormat.text:
        from opsctl.cli.rules_text import render_validation, write_validation

        if output:
            with output.open("w", encoding="utf-8") as fh:
                write_validation(fh, result, threshold or Severity.error, quiet)
        elif plain_stdout():  # a pipe or a file: plain text, without loading rich's console
            write_validation(sys.stdout, result, threshold or Severity.error, quiet)
        else:
            render_validation(console(), result, threshold or Severity.error, quiet)
    else:
        from opsctl.rules.reporters import REPORTERS

        text = REPORTERS[fmt.value].render(result, report_level)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            typer.echo(text, nl=False)
    if result.unreadable:
        err = console(stderr=True)
        for rf in result.unreadable:
            for p in rf.problems:
                err.print(f"error: {p.position}: {p.message}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT)
    if threshold is not None and result.at_or_above(threshold):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


@app.command("checks")
def checks_cmd(fmt: Format = FORMAT_OPTION) -> None:
    """List every check: id, default severity, scope, summary."""
    rows = sorted(REGISTRY.values(), key=lambda i: (i.scope != "structural", i.id))
    if fmt == Format.json:
        emit_json({"schema_version": 1, "checks": [
            {"id": i.id, "severity": i.severity.name, "scope": i.scope, "default_enabled": i.default_enabled,
             "summary": i.summary} for i in rows]})
        return
    from rich.table import Table

    table = Table(title="opsctl rules checks")
    table.add_column("id", style="magenta", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("scope", no_wrap=True)
    table.add_column("summary")
    for i in rows:
        table.add_row(i.id, i.severity.name, i.scope, i.summary)
    console().print(table)


@app.command("explain")
def explain_cmd(check_id: str = typer.Argument(..., help="Check id, as listed by `opsctl rules checks`."),
                fmt: Format = FORMAT_OPTION) -> None:
    """Explain one check: what it finds, why it matters, how to fix or silence it."""
    info = REGISTRY.get(check_id)
    if info is None:
        close = [c for c in REGISTRY if check_id in c or c in check_id]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `opsctl rules checks`)"
        raise InputError(f"unknown check id {check_id!r}{hint}", "explain")
    if fmt == Format.json:
        emit_json({"schema_version": 1, "id": info.id, "severity": info.severity.name, "scope": info.scope,
                   "summary": info.summary, "docs": info.docs})
        return
    md = (f"# {info.id}\n\n**{info.summary}** — default severity `{info.severity.name}`, scope `{info.scope}`."
          f"\n\n{info.docs}\n\nSilence it for one rule with a comment `# opsctl: disable={info.id}` on or above "
          f"the rule, for a file with `# opsctl: disable-file={info.id}`, or everywhere with `disable: "
          f"[{info.id}]` in the configuration.\n")
    from rich.markdown import Markdown  # markdown-it is slow to import; only explain needs it

    console().print(Markdown(md))


@app.command("coverage")
def coverage_cmd(
    paths: list[str] = typer.Argument(..., help="Rule files, directories or globs."),
    fmt: Format = FORMAT_OPTION,
    config: Path | None = CONFIG_OPTION,
    prometheus_version: str | None = VERSION_OPTION,
    service_label: str | None = typer.Option(None, "--service-label", help="Label naming the service/component."),
    min_alerts: int | None = typer.Option(None, "--min-alerts", help="Minimum alerts per service (policy)."),
) -> None:
    """Alert coverage per service: alerts by severity, metrics referenced; exit 1 below the policy."""
    from opsctl.rules.coverage import coverage
    from opsctl.rules.loader import LoadOptions, parse_rule_file
    from opsctl.rules.validate import expand_paths

    cfg = _config(config, prometheus_version)
    if service_label:
        cfg.coverage.service_label = service_label
    if min_alerts is not None:
        cfg.coverage.min_alerts_per_service = min_alerts
    files, _ = expand_paths(paths)
    options = LoadOptions(prometheus_version=cfg.prometheus_version, check_templates=False)
    parsed = [parse_rule_file(p, options) for p in files]
    bad = [f for f in parsed if f.unreadable]
    if bad:
        first = bad[0].problems[0]
        raise InputError(first.message, first.file, first.line, first.column)
    report = coverage(parsed, cfg)
    if fmt == Format.json:
        emit_json(report.to_dict())
    else:
        from opsctl.cli.rules_text import render_coverage

        render_coverage(console(), report)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


@app.command("promqltest")
def promqltest_cmd(
    paths: list[Path] = typer.Argument(..., help="promqltest files (*.test) or directories of them."),
    prometheus_version: str | None = typer.Option(
        None, "--prometheus-version", help="Semantics of this Prometheus version (2.42 or 3.x; default: "
        "3.16, the newest supported): 3.x has left-open range selectors, `.` matching newlines and the v3 "
        "functions; later 3.x releases changed native-histogram arithmetic (run the v3.5 corpus with 3.5)."),
    v3: bool = typer.Option(False, "--v3", help="Same as --prometheus-version 3.0 (kept for old scripts)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show each failing case with a diagnostic."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Run Prometheus's PromQL test files (promql/promqltest format) on the embedded engine; pass rate per file.

    Exit 0 when every case passes, 1 when one fails, 2 for a missing path."""
    from opsctl.promql.promqltest import run_path
    from opsctl.rules.versions import PromVersion

    version = PromVersion(3, 0) if v3 else _config(None, prometheus_version).prometheus_version
    for p in paths:
        if not p.exists():
            raise InputError("no such file or directory", str(p))
    results = [fr for p in paths for fr in run_path(p, v3=version.at_least(3, 0), version=version)]
    total = sum(fr.total for fr in results)
    passed = sum(fr.passed for fr in results)
    if fmt == Format.json:
        emit_json({"schema_version": 1, "total": total, "passed": passed, "files": [
            {"path": fr.path, "total": fr.total, "passed": fr.passed,
             "failures": [{"line": c.line, "expr": c.expr, "message": c.message} for c in fr.cases if not c.passed]}
            for fr in results]})
    else:
        out = console()
        for fr in results:
            rate = 100.0 * fr.passed / fr.total if fr.total else 100.0
            style = "green" if fr.passed == fr.total else "red"
            out.print(f"[{style}]{fr.passed}/{fr.total}[/] passed ({rate:.1f}%)  {fr.path}", highlight=False)
            if verbose:
                for c in fr.cases:
                    if not c.passed:
                        out.print(f"  line {c.line}: {c.expr}\n    {c.message}", markup=False, highlight=False)
        rate = 100.0 * passed / total if total else 100.0
        out.print(f"total: {passed}/{total} passed ({rate:.1f}%)", highlight=False)
    raise typer.Exit(EXIT_OK if passed == total else EXIT_FINDINGS)


# `rules test` and `rules backtest` live in their own module
from opsctl.cli import rules_testing  # noqa: E402

rules_testing.register(app)
