"""`opsctl rules test` (promtool-compatible rule unit tests) and `opsctl rules backtest`."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from opsctl.cli.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, Format, console, emit_json
from opsctl.cli.prom_options import CA_FILE_OPTION, CERT_FILE_OPTION, INSECURE_OPTION, KEY_FILE_OPTION
from opsctl.durations import format_duration, parse_duration
from opsctl.errors import InputError

if TYPE_CHECKING:  # rich's table is loaded by the commands that print one, not by every `opsctl rules ...`
    from rich.text import Text


class TestFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


def _parse_time(text: str, what: str) -> float:
    """A command-line time, by the one parser (opsctl.timeparse: RFC 3339, Unix seconds, now, -1h...)."""
    from opsctl.timeparse import parse_time

    return parse_time(text, what=what)


def _fmt_time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_secs(s: float) -> str:
    if s <= 0:
        return "0s"
    return format_duration(round(s))


def register(app: typer.Typer) -> None:
    """Add `test` and `backtest` to the `opsctl rules` group."""

    @app.command("test")
    def test_cmd(
        files: list[Path] = typer.Argument(..., help="promtool rule unit-test files (YAML)."),
        fmt: TestFormat = typer.Option(TestFormat.text, "--format", "-f", case_sensitive=False,
                                       help="Output format: text (like promtool), json, junit."),
        prometheus_version: str | None = typer.Option(
            None, "--prometheus-version", help="Target Prometheus version (e.g. 2.42): decides which rule-file "
            "fields and functions are accepted, as in `rules validate`, and the PromQL semantics (3.x: "
            "left-open range selectors, `.` matching newlines); default: 3.16, the newest supported."),
        enable_feature: list[str] = typer.Option(
            [], "--enable-feature", help="Prometheus feature flags, comma separated or repeated, as promtool's: "
            "promql-experimental-functions lets 3.x rules and tests use sort_by_label, limitk, mad_over_time..."),
    ) -> None:
        """Run promtool-format rule unit tests (`promtool test rules`, same file format and verdicts).

        Exit 0 when every test passes, 1 when a test fails, 2 when a file is bad input.
        """
        from opsctl.rules.unittest import render_junit, render_text, results_to_json, run_test_file
        from opsctl.rules.versions import PromVersion

        version = None
        if prometheus_version:
            try:
                version = PromVersion.parse(prometheus_version)
            except ValueError as exc:
                raise InputError(str(exc), "--prometheus-version") from None
        features = frozenset(x.strip() for v in enable_feature for x in v.split(",") if x.strip())
        results = [run_test_file(str(f), version, features) for f in files]
        if fmt is TestFormat.json:
            emit_json(results_to_json(results))
        elif fmt is TestFormat.junit:
            typer.echo(render_junit(results), nl=False)
        else:
            typer.echo(render_text(results, version), nl=False)
        err = console(stderr=True)
        for r in results:
            if r.error is not None:
                err.print(f"error: {r.error}", markup=False)
        if any(r.status == "error" for r in results):
            raise typer.Exit(EXIT_INPUT)
        if any(r.status == "failed" for r in results):
            raise typer.Exit(EXIT_FINDINGS)
        raise typer.Exit(EXIT_OK)

    @app.command("backtest")
    def backtest_cmd(
        rules: list[Path] = typer.Argument(..., help="Rule files to replay."),
        data: Path | None = typer.Option(None, "--data", help="Exported series: query_range JSON, CSV or Parquet."),
        prometheus: str | None = typer.Option(None, "--prometheus", help="Replay over a live Prometheus (base URL, "
                                              "with any path prefix) instead of --data: docs/rules-test.md."),
        bearer_token_file: Path | None = typer.Option(None, "--bearer-token-file", help="File holding a bearer "
                                                      "token for --prometheus (or env OPSCTL_PROMETHEUS_TOKEN)."),
        header: list[str] = typer.Option([], "--header", help="Extra HTTP header for --prometheus (Name: value), "
                                         "e.g. 'X-Scope-OrgID: tenant'."),
        timeout: float = typer.Option(30.0, "--timeout", help="HTTP timeout in seconds for --prometheus."),
        ca_file: Path | None = CA_FILE_OPTION,
        cert_file: Path | None = CERT_FILE_OPTION,
        key_file: Path | None = KEY_FILE_OPTION,
        insecure_skip_verify: bool = INSECURE_OPTION,
        jobs: int = typer.Option(4, "--jobs", "-j", min=1, max=32, help="Queries in flight for --prometheus."),
        check_replay: bool = typer.Option(False, "--check-replay", help="With --prometheus: compare the replayed "
                                          "firings with ALERTS{alertstate=\"firing\"} there (exit 1 on a difference)."),
        compare_rules: list[Path] = typer.Option(None, "--compare",
                                                 help="Another version of the rules to compare with (repeatable)."),
        from_: str = typer.Option(None, "--from", help="Start (RFC 3339, Unix seconds, now-1h: docs/cli.md); "
                                                  "default: first sample."),
        to: str = typer.Option(None, "--to", help="End (as --from); default: last sample."),
        step: str = typer.Option(None, "--step", help="Evaluation step (e.g. 1m); default: each group's interval, "
                                                      "else 1m."),
        width: int = typer.Option(60, "--width", min=10, max=400, help="Timeline width in characters."),
        by_instance: bool = typer.Option(False, "--by-instance", help="Also list each alert instance (text)."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", case_sensitive=False, help="Output format."),
        prometheus_version: str | None = typer.Option(
            None, "--prometheus-version", help="Replay with this Prometheus version's rule-file rules and PromQL "
            "semantics (e.g. 2.42); default: 3.16, the newest supported."),
    ) -> None:
        """Replay alerting rules over exported series: how often each alert fires, for how long, how it flaps.

        With --compare, the same data is replayed through a second version of the rules and the difference
        is shown per alert, so a threshold or `for` change can be judged by the noise it removes.
        """
        from opsctl.rules.backtest import SCHEMA_VERSION, compare
        from opsctl.rules.backtest_stream import ExportStore, backtest_store, keep_freed_memory

        start = _parse_time(from_, "--from") if from_ else None
        end = _parse_time(to, "--to") if to else None
        try:
            step_s = parse_duration(step) if step else None
        except ValueError as exc:
            raise InputError(f"--step: {exc}", "<arguments>") from None
        if step_s is not None and step_s <= 0:
            raise InputError("--step must be positive", "<arguments>")
        from opsctl.cli.progress import progress_bar, wanted

        if (data is None) == (prometheus is None):
            raise InputError("give exactly one of --data EXPORT and --prometheus URL", "<command line>")
        if check_replay and prometheus is None:
            raise InputError("--check-replay needs --prometheus", "<command line>")
        from opsctl.rules.versions import PromVersion

        try:
            version = PromVersion.parse(prometheus_version) if prometheus_version else None
        except ValueError as exc:
            raise InputError(str(exc), "--prometheus-version") from None
        show = wanted(machine_output=fmt is not Format.text)
        checked = None
        if prometheus is not None:
            from opsctl.cli.prom_options import tls_options

            tls = tls_options(ca_file, cert_file, key_file, insecure_skip_verify, url=prometheus)
            before, after, checked = _backtest_live(rules, compare_rules, prometheus, bearer_token_file, header,
                                                    timeout, jobs, from_, to, step_s, check_replay, show, tls)
        else:
            assert data is not None
            # Streamed by time windows (opsctl.rules.backtest_stream): memory does not grow with the period.
            keep_freed_memory()
            with ExportStore.from_file(data) as store:
                with progress_bar("backtest", None, enabled=show) as step_done:
                    before = backtest_store([str(r) for r in rules], store, start, end, step_s, progress=step_done,
                                            prometheus_version=version)
                after = None
                if compare_rules:
                    with progress_bar("backtest --compare", None, enabled=show) as step_done:
                        after = backtest_store([str(r) for r in compare_rules], store, start, end, step_s,
                                               progress=step_done, prometheus_version=version)
        findings = checked is not None and checked.alike != checked.total
        if fmt is Format.json:
            doc: dict[str, object] = {"schema_version": SCHEMA_VERSION, "backtest": before.to_dict()}
            if after is not None:
                doc["compare"] = after.to_dict()
                doc["diff"] = [d.to_dict() for d in compare(before, after)]
            if checked is not None:
                doc["check_replay"] = checked.to_dict()
            emit_json(doc)
            raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)
        from rich.table import Table

        out = console()
        source = (f"{before.series} series, {before.samples} samples" if prometheus is None else
                  f"{prometheus}: " + _modes_text(before))
        out.print(f"Backtest {', '.join(map(str, rules))} over {_fmt_time(before.start)} .. {_fmt_time(before.end)}"
                  f" ({source})", markup=False, highlight=False)
        for w in before.warnings + (after.warnings if after else []):
            out.print(f"warning: {w}", markup=False)
        if checked is not None:
            _print_check(out, checked)
        if after is None:
            table = Table(show_edge=False, pad_edge=False, box=None)
            for col in ("ALERT", "FIRED", "FIRING", "FLAPS", "LONGEST", "PENDING-ONLY", "INSTANCES", "TIMELINE"):
                table.add_column(col, no_wrap=True)
            for a in before.alerts:
                longest = a.longest
                table.add_row(a.name, str(a.fired), _fmt_secs(a.firing_seconds), str(a.flaps),
                              _fmt_secs(longest.firing_seconds(a.start, a.end)) if longest else "-",
                              str(a.pending_only), str(a.instances), _bar(a.timeline(width)))
            out.print(table)
            if by_instance:
                inst = Table(show_edge=False, pad_edge=False, box=None)
                for col in ("ALERT", "INSTANCE", "FIRED", "FIRING", "FLAPS"):
                    inst.add_column(col, no_wrap=True)
                for a in before.alerts:
                    for i in a.by_instance():
                        shown = ", ".join(f"{k}={v}" for k, v in sorted(i.labels.items()) if k != "alertname")
                        inst.add_row(a.name, "{" + shown + "}", str(i.fired), _fmt_secs(i.firing_seconds),
                                     str(i.flaps))
                out.print()
                out.print(inst)
        else:
            out.print(f"compared with {', '.join(map(str, compare_rules))}", markup=False)
            table = Table(show_edge=False, pad_edge=False, box=None)
            for col in ("ALERT", "FIRED", "FIRING TIME", "FLAPS", "", "TIMELINE"):
                table.add_column(col, no_wrap=True)
            for d in compare(before, after):
                b_f = d.before.fired if d.before else 0
                a_f = d.after.fired if d.after else 0
                b_t = d.before.firing_seconds if d.before else 0.0
                a_t = d.after.firing_seconds if d.after else 0.0
                b_fl = d.before.flaps if d.before else 0
                a_fl = d.after.flaps if d.after else 0
                empty = [0] * width
                table.add_row(d.name, f"{b_f} -> {a_f} ({d.fired_delta:+d})",
                              f"{_fmt_secs(b_t)} -> {_fmt_secs(a_t)} ({_signed_secs(d.firing_seconds_delta)})",
                              f"{b_fl} -> {a_fl} ({d.flaps_delta:+d})", "before",
                              _bar(d.before.timeline(width) if d.before else empty))
                table.add_row("", "", "", "", "after", _bar(d.after.timeline(width) if d.after else empty))
            out.print(table)
        raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def _backtest_live(rules: list[Path], compare_rules: list[Path] | None, url: str, bearer_token_file: Path | None,
                   header: list[str], timeout: float, jobs: int, from_: str | None, to: str | None,
                   step_s: float | None, check: bool, show: bool, tls: Any = None) -> tuple[Any, Any, Any]:
    """`rules backtest --prometheus`: the replay (and --compare, --check-replay) over a live server."""
    from opsctl.cli.progress import progress_bar
    from opsctl.cli.prom_options import prometheus_client
    from opsctl.prom.client import PrometheusError
    from opsctl.rules.backtest import load_rule_groups
    from opsctl.rules.backtest_live import backtest_live, check_replay
    from opsctl.timeparse import parse_range

    start, end = parse_range(from_, to, default_from="now-1h")
    client = prometheus_client(url, bearer_token_file=bearer_token_file, header=header, timeout=timeout, tls=tls)
    try:
        with client:
            with progress_bar("backtest", None, enabled=show) as step_done:
                before = backtest_live([str(r) for r in rules], client, start, end, step_s, jobs=jobs,
                                       progress=step_done)
            after = None
            if compare_rules:
                with progress_bar("backtest --compare", None, enabled=show) as step_done:
                    after = backtest_live([str(r) for r in compare_rules], client, start, end, step_s, jobs=jobs,
                                          progress=step_done)
            checked = check_replay(before, client, load_rule_groups([str(r) for r in rules])) if check else None
    except PrometheusError as exc:
        raise InputError(str(exc), "--prometheus") from None
    return before, after, checked


def _modes_text(result: Any) -> str:
    modes = getattr(result, "modes", {})
    parts = []
    for mode in ("pushdown", "raw"):
        names = [n for n, m in modes.items() if m == mode]
        if names:
            parts.append(f"{mode}: {len(names)} alert{'s' if len(names) != 1 else ''}")
    inlined = getattr(result, "inlined", {})
    if inlined:
        parts.append("inlined recording rules: " + ", ".join(sorted({r for v in inlined.values() for r in v})))
    return "; ".join(parts) or "no alerting rules"


def _print_check(out: Any, checked: Any) -> None:
    ratio = checked.alike_ratio
    out.print(f"check-replay against ALERTS: {checked.alike} of {checked.total} firings alike"
              + (f" ({ratio * 100:.1f}%)" if ratio is not None else ""), markup=False, highlight=False)
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None)
    for col in ("ALERT", "ALIKE", "ONLY-REPLAYED", "ONLY-REAL", "TYPICAL-OFFSET"):
        table.add_column(col, no_wrap=True)
    for r in checked.rules:
        off = r.typical_offset
        table.add_row(r.alertname, str(r.alike), str(len(r.only_replayed)), str(len(r.only_real)),
                      "-" if off is None else f"{off:+.1f}s")
    out.print(table)
    out.print()


def _signed_secs(s: float) -> str:
    if math.isclose(s, 0.0, abs_tol=0.5):
        return "0s"
    return ("+" if s > 0 else "-") + _fmt_secs(abs(s))


def _bar(buckets: list[int]) -> Text:
    from rich.text import Text

    text = Text()
    for b in buckets:
        if b >= 2:
            text.append("█", style="red")
        else:
            text.append("·", style="dim")
    return text
