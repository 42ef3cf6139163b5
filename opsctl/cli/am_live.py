"""`opsctl alertmanager alerts|silence|test-notify`: a live Alertmanager through its v2 API (amtool's daily use).

Exit codes: 0 success, 1 findings (`silence audit`) or an alert that did not arrive (`test-notify`), 2 bad
input or a server that cannot be reached (one-line error, no secret).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from opsctl.cli.output import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, FORMAT_OPTION, JSON_SCHEMA_VERSION, Format, emit_json
from opsctl.errors import InputError
from opsctl.live import alertmanager as am
from opsctl.live.http import Endpoint, LiveError
from opsctl.live.settings import AmSettings, resolve

alerts_app = typer.Typer(help="Query the alerts of a live Alertmanager, or fire a labelled test alert.",
                         no_args_is_help=True)
silence_app = typer.Typer(help="Add, query, expire, import, export, audit and reap silences on live Alertmanagers.",
                          no_args_is_help=True)

URL_OPT = typer.Option(None, "--alertmanager-url", metavar="URL",
                       help="Alertmanager base URL, path prefix included; repeat for several (an HA pair that "
                            "does not gossip). Default: $OPSCTL_ALERTMANAGER_URL, then alertmanager.url in the "
                            "config file.")
TENANT_OPT = typer.Option(None, "--tenant", metavar="ORG_ID",
                          help="X-Scope-OrgID for Mimir/Cortex; repeat to act on several tenants at once.")
CONFIG_OPT = typer.Option(None, "--config", "-c", metavar="FILE",
                          help="amtool-style config file (default: ~/.config/amtool/config.yml, "
                               "/etc/amtool/config.yml).")
TIMEOUT_OPT = typer.Option(None, "--timeout", metavar="DURATION", help="Per-request timeout (default 10s).")


def _dur(text: str, what: str) -> float:
    from opsctl.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(str(exc), what) from None


def _settings(urls: list[str] | None, tenants: list[str] | None, config: Path | None, timeout: str | None,
              author: str | None = None) -> AmSettings:
    s = resolve(urls=urls, tenants=tenants, config=config,
                timeout=_dur(timeout, "--timeout") if timeout else None, author=author)
    if s.tls.insecure_skip_verify and any(u.startswith("https://") for u in s.urls):
        from opsctl.cli.output import console

        console(stderr=True).print("warning: TLS certificate verification is off for the Alertmanager "
                                   "(insecure_skip_verify)", markup=False, highlight=False)
    return s


def targets(s: AmSettings) -> list[am.AlertmanagerAPI]:
    out = []
    for u in s.urls:
        tenants: list[str | None] = list(s.tenants) or [None]
        for t in tenants:
            out.append(am.AlertmanagerAPI(Endpoint(u, bearer_token=s.bearer_token, basic_auth=s.basic_auth,
                                                   tenant=t, timeout=s.timeout, tls=s.tls)))
    return out


@contextmanager
def live_errors() -> Iterator[None]:
    """A LiveError becomes a one-line `error:` and exit 2."""
    try:
        yield
    except LiveError as exc:
        from opsctl.cli.output import console

        console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_INPUT) from None


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join(lines) + "\n"


def _t(ts: float | None) -> str:
    return am.format_time(ts)[:19].replace("T", " ") + " UTC" if ts else "-"


def watch_loop(render: Callable[[], str], interval: float | None, *, count: int | None = None) -> None:
    """Print `render()` once, or every `interval` seconds, redrawn in place on a terminal (like watch)."""
    if not interval:
        sys.stdout.write(render())
        return
    n = 0
    tty = sys.stdout.isatty()
    try:
        while count is None or n < count:
            text = render()
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J")
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
            sys.stdout.write(f"Every {interval:g}s: {stamp}\n\n{text}")
            if not tty:
                sys.stdout.write("\n")
            sys.stdout.flush()
            n += 1
            if count is None or n < count:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass


# --- alerts ---------------------------------------------------------------------------------------

def _states(active: bool, silenced: bool, inhibited: bool, unprocessed: bool) -> dict[str, bool]:
    if not (active or silenced or inhibited or unprocessed):  # amtool: none given -> active alerts only
        active = True
    return {"active": active, "silenced": silenced, "inhibited": inhibited, "unprocessed": unprocessed}


@alerts_app.command("query")
def alerts_query(
    matchers: list[str] = typer.Argument(None, help="amtool matcher groups (a bare first word is the alertname)."),
    active: bool = typer.Option(False, "--active", help="Show active alerts (the default when no state is given)."),
    silenced: bool = typer.Option(False, "--silenced", help="Show silenced alerts."),
    inhibited: bool = typer.Option(False, "--inhibited", help="Show inhibited alerts."),
    unprocessed: bool = typer.Option(False, "--unprocessed", help="Show unprocessed alerts."),
    receiver: str = typer.Option(None, "--receiver", help="Only alerts routed to receivers matching this regex."),
    grouped: bool = typer.Option(False, "--grouped", help="Show alert groups (receiver and group labels)."),
    watch: float = typer.Option(None, "--watch", metavar="SECONDS", help="Refresh every SECONDS, in place."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """List current alerts like `amtool alert query`, from one or several Alertmanagers."""
    ms = am.parse_cli_matchers(matchers or [])
    st = _states(active, silenced, inhibited, unprocessed)
    tg = targets(_settings(urls, tenants, config, timeout))
    with live_errors():
        if grouped:
            def fetch_groups() -> list[dict[str, Any]]:
                out = []
                for t in tg:
                    for g in t.alert_groups(ms, receiver, **st):
                        out.append({"source": t.name, "receiver": (g.get("receiver") or {}).get("name", ""),
                                    "labels": g.get("labels") or {},
                                    "alerts": [am.Alert.from_api(a, t.name) for a in g.get("alerts") or []]})
                return out
            if fmt is Format.json:
                emit_json({"schema_version": JSON_SCHEMA_VERSION, "groups": fetch_groups()})
                return

            def render_groups() -> str:
                rows = []
                for g in fetch_groups():
                    names = sorted({a.labels.get("alertname", "") for a in g["alerts"]})
                    rows.append([g["receiver"], "{" + ",".join(f'{k}="{v}"' for k, v in sorted(g["labels"].items()))
                                 + "}", str(len(g["alerts"])), ",".join(names)])
                return _table(rows, ["Receiver", "Group labels", "Alerts", "Alertnames"])
            watch_loop(render_groups, watch)
            return

        def fetch() -> list[am.Alert]:
            return [a for t in tg for a in t.alerts(ms, receiver=receiver, **st)]
        if fmt is Format.json:
            emit_json({"schema_version": JSON_SCHEMA_VERSION, "alerts": fetch()})
            return

        def render() -> str:
            rows = []
            for a in fetch():
                state = a.state + (" (silenced)" if a.silenced_by else "") + (" (inhibited)" if a.inhibited_by else "")
                rows.append([a.labels.get("alertname", ""), _t(a.starts_at),
                             a.annotations.get("summary", ""), state]
                            + ([a.source] if len(tg) > 1 else []))
            return _table(rows, ["Alertname", "Starts At", "Summary", "State"] + (["Source"] if len(tg) > 1 else []))
        watch_loop(render, watch)


def _kv(items: list[str] | None, what: str) -> dict[str, str]:
    from opsctl.alertmanager.inhibit import labels_from_args

    return labels_from_args(items or [], what)


@alerts_app.command("add")
def alerts_add(
    labels: list[str] = typer.Argument(..., help="Labels as name=value (a bare first word is the alertname)."),
    annotation: list[str] = typer.Option(None, "--annotation", metavar="NAME=VALUE", help="Annotation; repeatable."),
    start: str = typer.Option(None, "--from", "--start", help="startsAt (default now; times as in docs/cli.md)."),
    end: str = typer.Option(None, "--to", "--end", help="endsAt (default: none, Alertmanager's resolve_timeout)."),
    resolve_after: str = typer.Option(None, "--resolve-after", metavar="DURATION",
                                      help="Resolve the alert this long after it starts."),
    generator_url: str = typer.Option("", "--generator-url", help="generatorURL of the alert."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Fire a labelled alert (like `amtool alert add`), optionally resolving itself after a while."""
    from opsctl.timeparse import parse_time

    args = list(labels)
    if args and "=" not in args[0]:
        args[0] = f"alertname={args[0]}"
    ls = _kv(args, "<labels>")
    ann = _kv(annotation, "--annotation")
    now = time.time()
    starts = parse_time(start, what="--from") if start else now
    ends = parse_time(end, what="--to") if end else None
    if resolve_after:
        ends = starts + _dur(resolve_after, "--resolve-after")
    if ends is not None and ends < starts:
        raise InputError("the alert would end before it starts", "--to")
    doc = am.post_alert_doc(ls, ann, starts, ends, generator_url)
    tg = targets(_settings(urls, tenants, config, timeout))
    with live_errors():
        for t in tg:
            t.post_alerts([doc])
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "alert": doc, "sent_to": [t.name for t in tg]})


# --- silences -------------------------------------------------------------------------------------

def _merged(tg: list[am.AlertmanagerAPI], ms: list[Any], expired: bool) -> list[tuple[am.Silence, list[am.Silence]]]:
    """Silences of every target, copies of one logical silence together (first copy shown)."""
    groups: dict[tuple[Any, ...], list[am.Silence]] = {}
    now = time.time()
    for t in tg:
        for s in t.silences(ms):
            if (s.state == "expired" or (not s.state and s.ends_at <= now)) != expired:
                continue
            groups.setdefault(s.logical_key(), []).append(s)
    out = [(v[0], v) for v in groups.values()]
    out.sort(key=lambda p: (p[0].ends_at, p[0].id))
    return out


@silence_app.command("add")
def silence_add(
    matchers: list[str] = typer.Argument(..., help="amtool matcher groups (a bare first word is the alertname)."),
    duration: str = typer.Option("1h", "--duration", help="How long the silence lasts (Prometheus duration)."),
    start: str = typer.Option(None, "--from", "--start",
                              help="When it starts (default now; times as in docs/cli.md)."),
    end: str = typer.Option(None, "--to", "--end", help="When it ends (overrides --duration)."),
    author: str = typer.Option(None, "--author", help="createdBy (default: author in the config, then the user)."),
    comment: str = typer.Option("", "--comment", help="Why (required when the config sets comment_required)."),
    expire_on_resolve: bool = typer.Option(False, "--expire-on-resolve",
                                           help="Let `silence reap` expire it once its alerts have resolved."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Add a silence (on every target: one logical silence over several Alertmanagers or tenants)."""
    from opsctl.timeparse import parse_time

    ms = am.parse_cli_matchers(matchers)
    if not ms:
        raise InputError("no matchers given", "<matchers>")
    s = _settings(urls, tenants, config, timeout, author)
    if s.require_comment and not comment.strip():
        raise InputError("a comment is required (comment_required in the config file)", "--comment")
    now = time.time()
    starts = parse_time(start, what="--from") if start else now
    ends = parse_time(end, what="--to") if end else starts + _dur(duration, "--duration")
    if ends <= starts:
        raise InputError("the silence would end before it starts", "--to" if end else "--duration")
    if ends <= now:
        raise InputError("the silence would already be over", "--to" if end else "--duration")
    text = comment + (f" {am.EXPIRE_ON_RESOLVE_TAG}" if expire_on_resolve else "")
    sil = am.Silence(matchers=ms, starts_at=starts, ends_at=ends, created_by=s.author, comment=text.strip())
    made: list[dict[str, str]] = []
    with live_errors():
        for t in targets(s):
            # compared locally: the server's filter only sees a silence's equality matchers
            same = [x for x in t.silences() if x.logical_key() == sil.logical_key() and x.state != "expired"]
            sid = same[0].id if same else t.add_silence(sil)  # a gossiping HA peer may have it already
            made.append({"id": sid, "source": t.name})
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "silence": sil.to_dict(), "created": made})
    else:
        for m in made:
            typer.echo(m["id"])


@silence_app.command("query")
def silence_query(
    matchers: list[str] = typer.Argument(None, help="Only silences these matchers match (amtool's filter)."),
    expired: bool = typer.Option(False, "--expired", help="Show expired silences instead of active/pending."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print silence ids."),
    watch: float = typer.Option(None, "--watch", metavar="SECONDS", help="Refresh every SECONDS, in place."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """List silences like `amtool silence query`; copies of one silence on several targets are shown once."""
    ms = am.parse_cli_matchers(matchers or [])
    tg = targets(_settings(urls, tenants, config, timeout))
    with live_errors():
        if fmt is Format.json:
            emit_json({"schema_version": JSON_SCHEMA_VERSION, "silences": [
                {**first.to_dict(), "copies": [{"id": c.id, "source": c.source} for c in copies]}
                for first, copies in _merged(tg, ms, expired)]})
            return

        def render() -> str:
            rows = _merged(tg, ms, expired)
            if quiet:
                return "".join(f"{c.id}\n" for _, copies in rows for c in copies)
            return _table([[f.id, am.matchers_text(f), _t(f.ends_at), f.created_by, f.comment]
                           + ([str(len(c))] if len(tg) > 1 else []) for f, c in rows],
                          ["ID", "Matchers", "Ends At", "Created By", "Comment"] + (["Copies"] if len(tg) > 1 else []))
        watch_loop(render, watch)


@silence_app.command("expire")
def silence_expire(
    ids: list[str] = typer.Argument(None, help="Silence ids."),
    filter_: list[str] = typer.Option(None, "--filter", metavar="MATCHER",
                                      help="Expire every active silence this filter matches (bulk); repeatable."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be expired."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Expire silences by id (every copy of the logical silence on every target) or by query."""
    if not ids and not filter_:
        raise InputError("give silence ids or --filter", "<ids>")
    tg = targets(_settings(urls, tenants, config, timeout))
    done: list[dict[str, str]] = []
    with live_errors():
        every = [(t, s) for t in tg for s in t.silences() if s.state != "expired"]
        keys = set()
        for sid in ids or []:
            hit = [s for _, s in every if s.id == sid]
            if not hit:
                raise InputError(f"no active or pending silence with id {sid}", "<ids>")
            keys.add(hit[0].logical_key())
        if filter_:
            wanted = am.parse_cli_matchers(filter_, "--filter")
            for t in tg:
                keys.update(s.logical_key() for s in t.silences(wanted) if s.state != "expired")
        for t, s in every:
            if s.logical_key() in keys:
                if not dry_run:
                    t.expire_silence(s.id)
                done.append({"id": s.id, "source": t.name, "matchers": am.matchers_text(s)})
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "dry_run": dry_run, "expired": done})
    else:
        for d in done:
            typer.echo(("would expire " if dry_run else "expired ") + f"{d['id']} {d['matchers']}"
                       + (f" on {d['source']}" if len(tg) > 1 else ""))


@silence_app.command("export")
def silence_export(
    matchers: list[str] = typer.Argument(None, help="Only silences these matchers match."),
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout (atomically)."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT,
) -> None:
    """Write the active and pending silences as the JSON list `amtool silence import` reads."""
    ms = am.parse_cli_matchers(matchers or [])
    tg = targets(_settings(urls, tenants, config, timeout))
    with live_errors():
        docs = [f.to_api(with_id=True) for f, _ in _merged(tg, ms, expired=False)]
    text = json.dumps(docs, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from opsctl.oncall.fileio import atomic_write

        atomic_write(output, text)


@silence_app.command("import")
def silence_import(
    file: Path = typer.Argument(..., help="JSON list of silences (amtool/opsctl export); - for stdin."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Create the silences of an export (new ids); ones already over are skipped and counted."""
    raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    name = "<stdin>" if str(file) == "-" else str(file)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", name, exc.lineno, exc.colno) from None
    if not isinstance(doc, list):
        raise InputError("expected a JSON list of silences", name, 1, 1)
    sils = []
    for i, d in enumerate(doc):
        try:
            sils.append(am.Silence.from_api(d))
        except (ValueError, LiveError) as exc:
            raise InputError(f"silence {i}: {exc}", name) from None
    now = time.time()
    s = _settings(urls, tenants, config, timeout)
    made, skipped = [], 0
    with live_errors():
        for sil in sils:
            if sil.ends_at <= now:
                skipped += 1
                continue
            sil.id = ""
            for t in targets(s):
                made.append({"id": t.add_silence(sil), "source": t.name})
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "created": made, "skipped_over": skipped})
    else:
        for m in made:
            typer.echo(m["id"])
        if skipped:
            typer.echo(f"skipped {skipped} silence(s) already over", err=True)


@silence_app.command("audit")
def silence_audit(
    max_duration: str = typer.Option("7d", "--max-duration", help="Longer silences are reported."),
    expiring_within: str = typer.Option("1h", "--expiring-within",
                                        help="Report silences ending this soon while their alerts still fire."),
    critical: list[str] = typer.Option(None, "--critical", metavar="MATCHER",
                                       help="What a critical alert is (default severity=critical); repeatable."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Silences that match nothing, last too long, mute critical alerts or end while their alerts fire."""
    crit = am.parse_cli_matchers(critical or ["severity=critical"], "--critical")
    tg = targets(_settings(urls, tenants, config, timeout))
    now = time.time()
    with live_errors():
        findings = []
        for t in tg:
            findings += am.audit(t.silences(), t.alerts(), now, max_duration=_dur(max_duration, "--max-duration"),
                                 expiring_within=_dur(expiring_within, "--expiring-within"), critical=crit)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "findings": findings})
    else:
        for f in findings:
            typer.echo(f"{f.kind}: {f.silence_id}: {f.message}" + (f" [{f.source}]" if len(tg) > 1 else ""))
        typer.echo(f"{len(findings)} finding(s)")
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


@silence_app.command("reap")
def silence_reap(
    grace: str = typer.Option("5m", "--grace", help="Keep silences younger than this (their alert may come)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be expired."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Expire --expire-on-resolve silences whose alerts have all resolved (for cron)."""
    tg = targets(_settings(urls, tenants, config, timeout))
    now = time.time()
    done = []
    with live_errors():
        for t in tg:
            for s in am.reap_candidates(t.silences(), t.alerts(), now, grace=_dur(grace, "--grace")):
                if not dry_run:
                    t.expire_silence(s.id)
                done.append({"id": s.id, "source": t.name, "matchers": am.matchers_text(s)})
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "dry_run": dry_run, "expired": done})
    else:
        for d in done:
            typer.echo(("would expire " if dry_run else "expired ") + f"{d['id']} {d['matchers']}")


# --- test-notify ----------------------------------------------------------------------------------

def test_notify(
    labels: list[str] = typer.Argument(..., help="Labels of the synthetic alert as name=value (a bare first "
                                                 "word is the alertname)."),
    annotation: list[str] = typer.Option(None, "--annotation", metavar="NAME=VALUE", help="Annotation; repeatable."),
    config_file: Path = typer.Option(None, "--config-file", metavar="FILE",
                                     help="alertmanager.yml for the offline routing (default: the config the "
                                          "server has loaded, from /api/v2/status)."),
    wait: str = typer.Option("30s", "--wait", help="How long to wait for the alert to be active there."),
    lifetime: str = typer.Option("5m", "--lifetime", help="endsAt of the alert: it resolves by itself then."),
    resolve_: bool = typer.Option(False, "--resolve", help="Resolve the alert once it has been seen."),
    urls: list[str] = URL_OPT, tenants: list[str] = TENANT_OPT, config: Path = CONFIG_OPT,
    timeout: str = TIMEOUT_OPT, fmt: Format = FORMAT_OPTION,
) -> None:
    """Send a synthetic alert through a live Alertmanager and prove the path: the receivers the routing tree
    picks, whether it arrived, and whether it is silenced or inhibited. Exit 1 when it does not arrive."""
    from opsctl.alertmanager import routing
    from opsctl.alertmanager.check import load_valid
    from opsctl.alertmanager.config import ConfigErrors, loads_config
    from opsctl.alertmanager.matchers import Matcher, MatchType

    args = list(labels)
    if args and "=" not in args[0]:
        args[0] = f"alertname={args[0]}"
    ls = _kv(args, "<labels>")
    if not ls:
        raise InputError("give at least one label", "<labels>")
    ann = {"summary": "opsctl test-notify: a synthetic alert to prove the notification path", **_kv(annotation,
                                                                                                      "--annotation")}
    wait_s, life_s = _dur(wait, "--wait"), _dur(lifetime, "--lifetime")
    tg = targets(_settings(urls, tenants, config, timeout))
    reports: list[dict[str, Any]] = []
    with live_errors():
        for t in tg:
            cfg = None
            if config_file is not None:
                cfg = load_valid(config_file)
            else:
                try:  # the routing tree the server has loaded (Mimir may not serve it)
                    original = str((t.status().get("config") or {}).get("original") or "")
                    cfg = loads_config(original, f"{t.name} /api/v2/status", check_templates=False)
                except (ConfigErrors, InputError, LiveError):
                    cfg = None
            expected = routing.receivers_for(routing.build_tree(cfg.route), ls) if cfg else None
            now = time.time()
            doc = am.post_alert_doc(ls, ann, now, now + life_s, "opsctl://test-notify")
            t.post_alerts([doc])
            eq = [Matcher.new(MatchType.EQUAL, k, v) for k, v in ls.items()]
            seen: am.Alert | None = None
            deadline = time.monotonic() + wait_s
            while True:
                got = [a for a in t.alerts(eq) if a.labels == ls]
                if got and got[0].state != "unprocessed":
                    seen = got[0]
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.25)
            if seen is not None and resolve_:
                end = time.time()
                t.post_alerts([am.post_alert_doc(ls, ann, now, end, "opsctl://test-notify")])
            reports.append({"source": t.name, "labels": ls, "expected_receivers": expected,
                            "arrived": seen is not None, "state": seen.state if seen else None,
                            "receivers": seen.receivers if seen else [],
                            "silenced_by": seen.silenced_by if seen else [],
                            "inhibited_by": seen.inhibited_by if seen else [],
                            "resolved": bool(seen is not None and resolve_)})
    ok = all(r["arrived"] for r in reports)
    if fmt is Format.json:
        emit_json({"schema_version": JSON_SCHEMA_VERSION, "ok": ok, "results": reports})
    else:
        for r in reports:
            exp = ",".join(r["expected_receivers"]) if r["expected_receivers"] is not None else "(config unknown)"
            typer.echo(f"{r['source']}: routing tree picks: {exp}")
            if not r["arrived"]:
                typer.echo(f"{r['source']}: NOT ARRIVED: the alert was not active within {wait}")
                continue
            what = "active"
            if r["silenced_by"]:
                what = "SILENCED by " + ",".join(r["silenced_by"])
            elif r["inhibited_by"]:
                what = "INHIBITED by " + ",".join(r["inhibited_by"])
            typer.echo(f"{r['source']}: arrived, {what}; Alertmanager routes it to: {','.join(r['receivers'])}")
            if r["resolved"]:
                typer.echo(f"{r['source']}: resolved")
    raise typer.Exit(EXIT_OK if ok else EXIT_FINDINGS)
