"""`opsctl alertmanager`: render, check, routes, inhibit/mute, template preview for Alertmanager 0.25."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from opsctl.alertmanager import check as checklib
from opsctl.alertmanager import inhibit as inh
from opsctl.alertmanager import render as renderlib
from opsctl.alertmanager import routing
from opsctl.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    FORMAT_OPTION,
    JSON_SCHEMA_VERSION,
    Format,
    console,
    emit_json,
)
from opsctl.errors import InputError

app = typer.Typer(help="Alertmanager: render and check configs, test routes, inhibition/muting, templates.",
                  no_args_is_help=True)
routes_app = typer.Typer(help="Show the routing tree or test where an alert goes.", no_args_is_help=True)
template_app = typer.Typer(help="Preview notification templates (Go text/template) offline.", no_args_is_help=True)
app.add_typer(routes_app, name="routes")
app.add_typer(template_app, name="template")


def _out(text: str) -> None:
    typer.echo(text, nl=False)


# --- check ----------------------------------------------------------------------------------------

AM_VERSION_OPT = typer.Option(
    None, "--alertmanager-version", metavar="VERSION",
    help="Target Alertmanager version, 0.25 to 0.35 (default: the newest): its config fields and checks, "
         "and its time interval semantics.")


@app.command("check")
def check_cmd(
    files: list[Path] = typer.Argument(..., help="alertmanager.yml files to validate."),
    no_templates: bool = typer.Option(False, "--no-templates", help="Do not parse the referenced templates."),
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Validate config files like `amtool check-config`, with file:line:column for every error."""
    from opsctl.alertmanager.config import parse_version

    version = parse_version(am_version)
    results = [checklib.check_file(f, check_templates=not no_templates, version=version) for f in files]
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "valid": all(r.ok for r in results),
                   "alertmanager_version": f"{version[0]}.{version[1]}",
                   "files": [r.to_dict() for r in results]})
    else:
        con = console()
        for r in results:
            if r.ok:
                s = r.summary()
                con.print(f"{r.file}: OK ({s['receivers']} receivers, {s['routes']} routes, "
                          f"{s['inhibit_rules']} inhibit rules, {s['time_intervals']} time intervals, "
                          f"{s['templates']} template files)", markup=False)
            else:
                for e in r.errors:
                    con.print(str(e), markup=False)
                con.print(f"{r.file}: INVALID ({len(r.errors)} error{'s' if len(r.errors) != 1 else ''})",
                          markup=False)
    raise typer.Exit(EXIT_OK if all(r.ok for r in results) else EXIT_FINDINGS)


# --- render ---------------------------------------------------------------------------------------

@app.command("render")
def render_cmd(
    template: Path = typer.Argument(..., help="Jinja2 template of alertmanager.yml."),
    values: Path = typer.Option(None, "--values", help="YAML values file (may declare `secrets:`)."),
    env: bool = typer.Option(False, "--env", help="Expose environment variables to the template as `env`."),
    output: Path = typer.Option(None, "--output", "-o",
                                help="Write the rendered config (with real secrets, mode 0600) here."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secrets instead of <secret>."),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Render alertmanager.yml from a template (strict undefined), then validate the result."""
    res = renderlib.render_file(template, values, allow_env=env)
    target = str(output) if output else f"{template}(rendered)"
    if output:
        renderlib.write_atomic(output, res.text)
    # relative template globs resolve against where the config is written (else the template's directory)
    check = checklib.check_file(output) if output else checklib.check_text(res.text, target, template.parent)
    errors = [InputError(res.redact(e.message), e.file, e.line, e.column) for e in check.errors]
    shown = res.text if show_secrets else res.masked
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "template": str(template),
                   "output": str(output) if output else None, "valid": not errors,
                   "secrets": len(res.secret_values), "secrets_shown": show_secrets,
                   "config": None if output and not show_secrets else shown,
                   "errors": [{"file": e.file, "line": e.line, "column": e.column, "message": e.message}
                              for e in errors]})
    else:
        if not output or show_secrets:
            _out(shown if shown.endswith("\n") else shown + "\n")
        err = console(stderr=True)
        for e in errors:
            err.print(str(e), markup=False)
        if output:
            err.print(f"wrote {output} ({'valid' if not errors else 'INVALID'})", markup=False)
        elif errors:
            err.print("rendered config is INVALID", markup=False)
    raise typer.Exit(EXIT_FINDINGS if errors else EXIT_OK)


# --- routes ---------------------------------------------------------------------------------------

@routes_app.command("show")
def routes_show(
    file: Path = typer.Argument(..., help="alertmanager.yml"),
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Print the routing tree (amtool's format), or every node with its effective options as JSON."""
    from opsctl.alertmanager.config import parse_version

    cfg = checklib.load_valid(file, version=parse_version(am_version))
    root = routing.build_tree(cfg.route)
    if fmt is Format.json:
        def node(n: routing.RouteNode) -> dict[str, Any]:
            return {**n.to_dict(), "routes": [node(c) for c in n.routes]}
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "file": str(file), "tree": node(root)})
    else:
        _out(routing.show_tree(root))


@routes_app.command("test")
def routes_test(
    file: Path = typer.Argument(..., help="alertmanager.yml"),
    labels: list[str] = typer.Argument(None, help="Alert labels as name=value (Alertmanager matcher syntax)."),
    verify_receivers: str = typer.Option(None, "--verify-receivers",
                                         help="Expected receivers, comma-separated in order; exit 1 if different."),
    tree: bool = typer.Option(False, "--tree", help="Also print the matching branches."),
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Print the receivers an alert with these labels reaches (like `amtool config routes test`)."""
    from opsctl.alertmanager.config import parse_version

    cfg = checklib.load_valid(file, version=parse_version(am_version))
    root = routing.build_tree(cfg.route)
    ls = inh.labels_from_args(labels or [])
    matched = routing.match(root, ls)
    receivers = [m.receiver for m in matched]
    slug = ",".join(receivers)
    ok = verify_receivers is None or verify_receivers == slug
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "file": str(file), "labels": ls,
                   "receivers": receivers, "routes": [m.to_dict() for m in matched],
                   "verified": None if verify_receivers is None else ok,
                   "expected": None if verify_receivers is None else verify_receivers.split(",")})
    else:
        if tree:
            _out(routing.matching_tree(root, ls))
        typer.echo(slug)
        if not ok:
            typer.echo("WARNING: Expected receivers did not match resolved receivers.")
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)


# --- inhibit / mute -------------------------------------------------------------------------------

def _alerts(alerts_file: Path | None, alert: list[str] | None) -> list[inh.Alert]:
    out: list[inh.Alert] = []
    if alerts_file is not None:
        out.extend(inh.load_alerts(str(alerts_file)))
    for spec in alert or []:
        parts = [p for p in _split_labels(spec) if p.strip()]
        out.append(inh.Alert(labels=inh.labels_from_args(parts, "--alert")))
    if not out:
        raise InputError("no alerts given: use --alerts FILE.json and/or --alert 'name=value,...'", "<args>")
    return out


def _split_labels(spec: str) -> list[str]:
    from opsctl.alertmanager.matchers import parse_matchers

    try:
        return [str(m) for m in parse_matchers(spec)]
    except ValueError as exc:
        raise InputError(f"--alert {spec!r}: {exc}", "<args>") from None


ALERTS_OPT = typer.Option(None, "--alerts", help="Alerts JSON (API v2 list, webhook payload, or label maps).")
ALERT_OPT = typer.Option(None, "--alert", help="An alert as 'name=value,name=value' (repeatable).")
AT_OPT = typer.Option(None, "--at", help="Evaluation time (RFC 3339, Unix seconds, now, now-1h: docs/cli.md); "
                      "default: now.")


def _at(text: str | None) -> datetime:
    """`--at` by the one command-line time parser (opsctl.timeparse), as an aware UTC datetime."""
    from datetime import UTC

    from opsctl.timeparse import parse_time

    return datetime.fromtimestamp(parse_time("now" if text is None else text, what="--at"), UTC)


def _evaluate(file: Path, alerts_file: Path | None, alert: list[str] | None,
              at: str | None, am_version: str | None = None) -> tuple[datetime, list[inh.AlertVerdict], Any]:
    from opsctl.alertmanager.config import parse_version

    cfg = checklib.load_valid(file, version=parse_version(am_version))
    when = _at(at)
    verdicts = inh.evaluate(cfg, _alerts(alerts_file, alert), when)
    return when, verdicts, cfg


@app.command("inhibit")
def inhibit_cmd(
    file: Path = typer.Argument(..., help="alertmanager.yml"),
    alerts_file: Path = ALERTS_OPT, alert: list[str] = ALERT_OPT, at: str = AT_OPT,
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Which of the given firing alerts are inhibited, and by which rule and source alert."""
    when, verdicts, _cfg = _evaluate(file, alerts_file, alert, at, am_version)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "file": str(file), "at": when.isoformat(),
                   "alerts": [v.to_dict() for v in verdicts]})
    else:
        con = console()
        for v in verdicts:
            state = "resolved" if not v.firing else "INHIBITED" if v.inhibited else "not inhibited"
            con.print(f"#{v.index} {v.alert.label_str()}: {state}", markup=False)
            for i in v.inhibited_by:
                src = verdicts[i.source].alert.label_str()
                con.print(f"    by inhibit_rules[{i.rule}] ({file}:{i.rule_line}) with source #{i.source} {src}",
                          markup=False)
    raise typer.Exit(EXIT_OK)


@app.command("mute")
def mute_cmd(
    file: Path = typer.Argument(..., help="alertmanager.yml"),
    alerts_file: Path = ALERTS_OPT, alert: list[str] = ALERT_OPT, at: str = AT_OPT,
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Which routes of the given alerts are muted at a time (mute/active time intervals), plus inhibition."""
    when, verdicts, cfg = _evaluate(file, alerts_file, alert, at, am_version)
    status = inh.interval_status(cfg, when)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "file": str(file), "at": when.isoformat(),
                   "time_intervals": status, "alerts": [v.to_dict() for v in verdicts]})
    else:
        con = console()
        con.print(f"at {when.isoformat()}", markup=False)
        for name, holds in status.items():
            con.print(f"  time interval {name}: {'ACTIVE' if holds else 'inactive'}", markup=False)
        for v in verdicts:
            extra = " (INHIBITED)" if v.inhibited else "" if v.firing else " (resolved)"
            con.print(f"#{v.index} {v.alert.label_str()}{extra}", markup=False)
            for r in v.routes:
                why = []
                if r.muted_by:
                    why.append("muted by " + ", ".join(r.muted_by))
                if r.inactive:
                    why.append("outside active_time_intervals")
                if not v.firing:
                    why.insert(0, "resolved")
                elif v.inhibited:
                    why.insert(0, "inhibited")
                state = "NOT SENT (" + "; ".join(why) + ")" if why else "sent"
                con.print(f"    -> {r.receiver} [route {r.path}]: {state}", markup=False)
    raise typer.Exit(EXIT_OK)


# --- template render ------------------------------------------------------------------------------

@template_app.command("render")
def template_render(
    template_files: list[Path] = typer.Argument(None, help="Template files (.tmpl) with {{ define }} blocks."),
    alerts_file: Path = typer.Option(..., "--alerts", help="Alerts JSON (as for `inhibit`)."),
    text: str = typer.Option(None, "--text",
                             help='Template text to render, e.g. \'{{ template "slack.default.text" . }}\'.'),
    name: str = typer.Option(None, "--name", help="Name of a defined template to render."),
    receiver: str = typer.Option("preview", "--receiver",
                                 help="Receiver name (.Receiver); with --config, the receiver to preview."),
    config: Path = typer.Option(None, "--config", "-c",
                                help="alertmanager.yml: preview --receiver's integrations with its templates."),
    external_url: str = typer.Option("http://localhost:9093", "--external-url", help=".ExternalURL"),
    group_labels: str = typer.Option(None, "--group-by", help="Comma-separated group_by labels (.GroupLabels)."),
    at: str = AT_OPT,
    am_version: str = AM_VERSION_OPT,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """Render Alertmanager notification templates against sample alerts (offline Slack/email preview).

    With --config and --receiver, renders every templated field of that receiver's integrations
    (Alertmanager's defaults included) using the config's template files."""
    from opsctl.alertmanager import notify_templates as nt

    alerts = inh.load_alerts(str(alerts_file))
    when = _at(at)
    if config is not None:
        from opsctl.alertmanager.config import parse_version

        cfg = checklib.load_valid(config, check_templates=True, version=parse_version(am_version))
        previews = nt.preview_receiver(cfg, receiver, alerts, now=when, external_url=external_url)
        if fmt is Format.json:
            emit_json({"schema_version": JSON_SCHEMA_VERSION, "config": str(config), "receiver": receiver,
                       "integrations": previews})
        else:
            for p in previews:
                labels = ", ".join(f'{k}="{v}"' for k, v in p["group_labels"].items())
                typer.echo(f"== {receiver} / {p['integration']} ({config}:{p['line']}) route {p['route']} "
                           f"group {{{labels}}}: {p['alerts']} alert(s)")
                if p["resolved_dropped"]:
                    typer.echo(f"   ({p['resolved_dropped']} resolved alert(s) left out: send_resolved is false"
                               + ("; nothing is sent" if not p["alerts"] else "") + ")")
                if p["muted_by"] or p["outside_active_time_intervals"]:
                    why = ", ".join(p["muted_by"]) or "outside active_time_intervals"
                    typer.echo(f"   (route muted at {when.isoformat()}: {why}; Alertmanager would not send this)")
                for key, value in p["fields"].items():
                    note = " [rendered with html/template escaping, as Alertmanager does]" \
                        if key in p["html_template"] else ""
                    typer.echo(f"-- {key}{note}:\n{value}")
                for key, err in p["errors"].items():
                    typer.echo(f"-- {key}: ERROR {err}")
        if not previews:
            typer.echo(f"no alert reaches receiver {receiver!r}")
        failed = any(p["errors"] for p in previews)
        raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)
    if not template_files:
        raise InputError("give template files (and --text/--name), or --config and --receiver", "<args>")
    gl = [x.strip() for x in group_labels.split(",")] if group_labels else []
    data = nt.build_data(alerts, receiver=receiver, group_by=gl, external_url=external_url, now=when)
    out = nt.render(template_files, data, text=text, name=name)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "templates": [str(t) for t in template_files],
                   "text": text, "name": name, "output": out})
    else:
        _out(out if out.endswith("\n") else out + "\n")


# --- live Alertmanager (opsctl/cli/am_live.py) ----------------------------------------------------
from opsctl.cli import am_live  # noqa: E402

app.add_typer(am_live.alerts_app, name="alerts")
app.add_typer(am_live.silence_app, name="silence")
app.command("test-notify")(am_live.test_notify)
