"""Notification template preview: Alertmanager's template data built from sample alerts, rendered with the
Go text/template engine in `opsctl.gotemplate` (default templates + user files, Alertmanager's functions).

`build_data()` reproduces what Alertmanager 0.25 hands to templates for one aggregation group: alerts sorted
like dispatch does (by `job`, then `instance`, then the label sets), status per alert at `now`, fingerprints
(FNV-1a over the sorted label pairs), GroupLabels from the route's `group_by`, CommonLabels /
CommonAnnotations (pairs shared by every alert), `Receiver` regexp-quoted as Alertmanager does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.alertmanager.inhibit import Alert, evaluate, holds
from opsctl.errors import InputError
from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.alertmanager import KV, AlertmanagerTemplates, Alerts, Data
from opsctl.gotemplate.alertmanager import Alert as TAlert
from opsctl.gotemplate.gotime import ZERO_TIME, GoTime

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1


def fingerprint(labels: dict[str, str]) -> str:
    """model.LabelSet.Fingerprint().String(): FNV-1a 64 of name, 0xff, value, 0xff for sorted names."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for b in part.encode("utf-8"):
                h = ((h ^ b) * _FNV_PRIME) & _MASK
            h = ((h ^ 0xFF) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def _before(a: dict[str, str], b: dict[str, str]) -> bool:
    """model.LabelSet.Before."""
    if len(a) != len(b):
        return len(a) < len(b)
    for name in sorted([*a, *b]):
        if name not in a:
            return True
        if name not in b:
            return False
        if a[name] != b[name]:
            return a[name] < b[name]
    return False


def _alert_cmp(x: Alert, y: Alert) -> int:
    """types.AlertSlice.Less, as a cmp function."""
    for key in ("job", "instance"):
        xv, yv = x.labels.get(key), y.labels.get(key)
        if xv is None and yv is None:
            continue
        if xv is None:
            return 1
        if yv is None:
            return -1
        if xv != yv:
            return -1 if xv < yv else 1
    if _before(x.labels, y.labels):
        return -1
    if _before(y.labels, x.labels):
        return 1
    return 0


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    out = dict(maps[0])
    for m in maps[1:]:
        out = {k: v for k, v in out.items() if m.get(k) == v and k in m}
    return out


def build_data(alerts: Sequence[Alert], receiver: str = "preview", group_by: Sequence[str] = (),
               group_by_all: bool = False, external_url: str = "http://localhost:9093",
               now: datetime | None = None) -> Data:
    now = now or datetime.now(UTC)
    ordered = sorted(alerts, key=functools.cmp_to_key(_alert_cmp))  # sorted() is stable like sort.Stable
    talerts = Alerts()
    for a in ordered:
        resolved = a.ends_at is not None and a.ends_at <= now
        talerts.append(TAlert(
            Status="resolved" if resolved else "firing", Labels=KV(a.labels), Annotations=KV(a.annotations),
            # types.Alerts: a firing alert's end time is not exposed (zero time)
            StartsAt=GoTime(a.starts_at, a.starts_nanos) if a.starts_at else GoTime(now),
            EndsAt=GoTime(a.ends_at, a.ends_nanos) if resolved and a.ends_at else ZERO_TIME,
            GeneratorURL=a.generator_url, Fingerprint=fingerprint(a.labels)))
    group_labels: dict[str, str] = {}
    if ordered:
        first = ordered[0].labels
        group_labels = dict(first) if group_by_all else {k: first[k] for k in group_by if k in first}
    status = "firing" if any(t.Status == "firing" for t in talerts) else "resolved"
    return Data(Receiver=_go_quote_meta(receiver), Status=status, Alerts=talerts,
                GroupLabels=KV(group_labels), CommonLabels=KV(_common([a.labels for a in ordered])),
                CommonAnnotations=KV(_common([a.annotations for a in ordered])), ExternalURL=external_url)


def _go_quote_meta(s: str) -> str:
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s)


def load_templates(files: Sequence[str | Path]) -> AlertmanagerTemplates:
    tmpl = AlertmanagerTemplates()
    for f in files:
        try:
            tmpl.add_file(f)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", str(f)) from None
        except TemplateError as exc:
            raise InputError(exc.message, str(f), exc.line, exc.column) from None
    return tmpl


def render(files: Sequence[str | Path], data: Data, text: str | None = None, name: str | None = None) -> str:
    """Render `text` (a template text) or the defined template `name` against `data`."""
    tmpl = load_templates(files)
    if (text is None) == (name is None):
        raise InputError("give exactly one of --text or --name", "<args>")
    try:
        if name is not None:
            if not tmpl.lookup(name):
                known = ", ".join(sorted(tmpl.names()))
                raise InputError(f"no template {name!r} defined (defined: {known})", "<args>")
            return tmpl.render_template(name, data)
        assert text is not None
        return tmpl.render_text(text, data)
    except TemplateError as exc:
        where = exc.name or "<text>"
        raise InputError(f"template execution: {exc.message}", where, exc.line, exc.column) from None


def parse_template_files(files: Sequence[str]) -> list[tuple[str, int, int]]:
    """Parse template files as Alertmanager's template.FromGlobs does; returns (message, line, col) errors."""
    errors: list[tuple[str, int, int]] = []
    tmpl = AlertmanagerTemplates()
    for f in files:
        try:
            tmpl.add_file(f)
        except OSError as exc:
            errors.append((f"template {f}: cannot read: {exc.strerror or exc}", 0, 0))
        except TemplateError as exc:
            errors.append((f"template {f}:{exc.line}:{exc.column}: {exc.message}", 0, 0))
    return errors


# --- preview a receiver of a config ---------------------------------------------------------------

_T = '{{ template "%s" . }}'
NOTIFIER_DEFAULTS: dict[str, dict[str, str]] = {  # config/notifiers.go Default*Config
    "slack": {"color": '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}',
              "username": _T % "slack.default.username", "title": _T % "slack.default.title",
              "title_link": _T % "slack.default.titlelink", "icon_emoji": _T % "slack.default.iconemoji",
              "icon_url": _T % "slack.default.iconurl", "pretext": _T % "slack.default.pretext",
              "text": _T % "slack.default.text", "fallback": _T % "slack.default.fallback",
              "callback_id": _T % "slack.default.callbackid", "footer": _T % "slack.default.footer"},
    "email": {"html": _T % "email.default.html", "subject": _T % "email.default.subject"},
    "pagerduty": {"description": "{{ template \"pagerduty.default.description\" .}}",
                  "client": _T % "pagerduty.default.client", "client_url": _T % "pagerduty.default.clientURL",
                  # notify/pagerduty: an empty severity is sent as "error"
                  "severity": "error"},
    "opsgenie": {"message": _T % "opsgenie.default.message", "description": _T % "opsgenie.default.description",
                 "source": _T % "opsgenie.default.source"},
    "wechat": {"message": _T % "wechat.default.message", "to_user": _T % "wechat.default.to_user",
               "to_party": _T % "wechat.default.to_party", "to_tag": _T % "wechat.default.to_tag",
               "agent_id": _T % "wechat.default.agent_id"},
    "victorops": {"message_type": "CRITICAL", "state_message": _T % "victorops.default.state_message",
                  "entity_display_name": _T % "victorops.default.entity_display_name",
                  "monitoring_tool": _T % "victorops.default.monitoring_tool"},
    "pushover": {"title": _T % "pushover.default.title", "message": _T % "pushover.default.message",
                 "url": _T % "pushover.default.url",
                 "priority": '{{ if eq .Status "firing" }}2{{ else }}0{{ end }}'},
    "sns": {"subject": _T % "sns.default.subject", "message": _T % "sns.default.message"},
    "telegram": {"message": _T % "telegram.default.message"},
    "discord": {"title": _T % "discord.default.title", "message": _T % "discord.default.message"},
    "webex": {"message": _T % "webex.default.message"},
    "webhook": {},
}
# config/notifiers.go DefaultPagerdutyDetails: merged into every PagerDuty config's `details`
PAGERDUTY_DEFAULT_DETAILS = {
    "firing": '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
    "resolved": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
    "num_firing": "{{ .Alerts.Firing | len }}",
    "num_resolved": "{{ .Alerts.Resolved | len }}",
}
# send_resolved when the config does not say (Default*Config of each notifier)
SEND_RESOLVED_DEFAULT = {"email": False, "slack": False, "wechat": False, "rocketchat": False}
# string settings that are never templates (secrets, URLs to call, keys, modes)
_NOT_TEMPLATED = {"api_url", "api_key", "api_key_file", "routing_key_file", "service_key_file",
                  "api_url_file", "auth_password_file", "webhook_url", "bot_token", "parse_mode", "smarthost",
                  "routing_key", "service_key", "token", "user_key", "api_secret", "corp_id", "auth_password",
                  "auth_secret", "auth_username", "auth_identity", "hello", "message_type_file", "room_id",
                  "token_file", "user_key_file", "bot_token_file", "webhook_url_file", "api_secret_file"}
# per notifier: settings that are addresses to call, not templates (pushover's `url` IS a template)
_NOT_TEMPLATED_KIND = {"pagerduty": {"url"}, "webhook": {"url", "url_file"}, "sns": {"api_url"},
                       "opsgenie": {"api_url"}, "discord": {"username", "avatar_url"}}
# per notifier: plain (non-secret) settings that are templates although another notifier's namesake is not
_TEMPLATED_KIND = {"victorops": {"routing_key"}}  # part of the URL, rendered since Alertmanager 0.10
# nested templated settings: (key, sub-keys templated per item)
_NESTED_LISTS: dict[str, dict[str, tuple[str, ...]]] = {
    "slack": {"fields": ("title", "value"), "actions": ("type", "text", "url", "style", "name", "value")},
    "pagerduty": {"links": ("href", "text"), "images": ("src", "alt", "href")},
    "opsgenie": {"responders": ("id", "name", "username", "type")},
}
_NESTED_MAPS = {"pagerduty": "details", "opsgenie": "details", "victorops": "custom_fields"}


def integration_texts(kind: str, settings: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Every template text Alertmanager executes for one integration: field name -> (text, html).
    Nested fields are named `fields[0].value`, `actions[1].url`, `details.firing`, `links[0].href`;
    `html` is True where Alertmanager uses html/template (email html, Telegram parse_mode HTML, Pushover
    html: true)."""
    texts = dict(NOTIFIER_DEFAULTS.get(kind, {}))
    skip = (_NOT_TEMPLATED | _NOT_TEMPLATED_KIND.get(kind, set())) - _TEMPLATED_KIND.get(kind, set())
    for key, value in settings.items():
        if isinstance(value, str) and key not in skip and (value or key not in texts):
            texts[key] = value
    if kind == "pagerduty":
        if not settings.get("source"):  # the source falls back to the client
            texts["source"] = texts.get("client", "")
        if settings.get("service_key") and not settings.get("routing_key"):  # Events API v1: fewer fields
            for k in ("severity", "source", "class", "component", "group"):
                texts.pop(k, None)
    if kind == "email":
        for h, v in (settings.get("headers") or {}).items():
            texts["subject" if h.lower() == "subject" else f"header {h}"] = v
    out: dict[str, tuple[str, bool]] = {}
    html_keys: set[str] = set()
    if kind == "email":
        html_keys.add("html")
    if kind == "telegram" and settings.get("parse_mode", "HTML") == "HTML":
        html_keys.add("message")
    if kind == "pushover" and settings.get("html"):
        html_keys.add("message")
    for key, text in texts.items():
        out[key] = (text, key in html_keys)
    for key, subkeys in _NESTED_LISTS.get(kind, {}).items():
        for i, item in enumerate(settings.get(key) or []):
            if not isinstance(item, dict):
                continue
            for sub in subkeys:
                if isinstance(item.get(sub), str):
                    out[f"{key}[{i}].{sub}"] = (item[sub], False)
            # an action's `confirm` is accepted by the config but not sent by Alertmanager 0.25
    mkey = _NESTED_MAPS.get(kind)
    if mkey:
        given = settings.get(mkey) or {}
        merged = {**PAGERDUTY_DEFAULT_DETAILS, **given} if kind == "pagerduty" else dict(given)
        for k, v in merged.items():
            if isinstance(v, str):
                out[f"{mkey}.{k}"] = (v, False)
    return out


def send_resolved(kind: str, settings: dict[str, Any]) -> bool:
    value = settings.get("send_resolved")
    return SEND_RESOLVED_DEFAULT.get(kind, True) if value is None else bool(value)


def preview_receiver(cfg: Any, receiver: str, alerts: Sequence[Alert], now: datetime | None = None,
                     external_url: str = "http://localhost:9093") -> list[dict[str, Any]]:
    """What each of a receiver's integrations would send, per notification group, as Alertmanager groups:
    the alerts that reach a route with this receiver (inhibited ones dropped), split by route and by the
    values of its `group_by` labels (all labels for `...`). Every templated field is rendered, Alertmanager's
    defaults included, nested ones (Slack fields/actions, PagerDuty details/links/images...) too. An
    integration with `send_resolved: false` (the default of Slack, email, WeChat) gets only the firing
    alerts, as Alertmanager filters them before rendering, and sends nothing when none is firing. A group
    whose route is muted at `now` says so (Alertmanager would send nothing)."""
    from opsctl.alertmanager.routing import build_tree, match

    rec = cfg.receiver(receiver)
    if rec is None:
        known = ", ".join(r.name for r in cfg.receivers)
        raise InputError(f"no receiver {receiver!r} in the config (receivers: {known})", cfg.file)
    root = build_tree(cfg.route)
    when = now or datetime.now(UTC)
    verdicts = evaluate(cfg, list(alerts), when, tree=root)
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Any, list[Alert]]] = {}
    for a, verdict in zip(alerts, verdicts, strict=True):
        if verdict.inhibited:  # the notification pipeline drops inhibited alerts
            continue
        for node in match(root, a.labels):
            if node.receiver != receiver:
                continue
            keys = sorted(a.labels) if node.group_by_all else [k for k in node.group_by if k in a.labels]
            gkey = (node.path, tuple((k, a.labels[k]) for k in sorted(keys)))
            groups.setdefault(gkey, (node, []))[1].append(a)
    tmpl = load_templates(cfg.template_files)
    out: list[dict[str, Any]] = []
    for (path, glabels), (node, members) in groups.items():
        muted_by = [n for n in node.mute_time_intervals if holds(cfg, n, when)]
        inactive = bool(node.active_time_intervals) and not any(
            holds(cfg, n, when) for n in node.active_time_intervals)
        for integ in rec.integrations:
            resolved_too = send_resolved(integ.kind, integ.settings)
            sent = members if resolved_too else [a for a in members if a.firing_at(when)]
            fields: dict[str, str] = {}
            errors: dict[str, str] = {}
            html_keys: list[str] = []
            if sent:
                data = build_data(sent, receiver=receiver, group_by=node.group_by, group_by_all=node.group_by_all,
                                  external_url=external_url, now=when)
                for key, (text, html) in sorted(integration_texts(integ.kind, integ.settings).items()):
                    if html:
                        html_keys.append(key)
                    try:
                        fields[key] = tmpl.render_text(text, data, html=html)
                    except TemplateError as exc:
                        errors[key] = exc.message
                if integ.kind == "opsgenie":  # OpsGenie details start from the common labels
                    for k, v in sorted(data.CommonLabels.items()):
                        fields.setdefault(f"details.{k}", v)
            out.append({"integration": f"{integ.kind}_configs[{integ.index}]", "line": integ.line,
                        "route": path, "group_labels": dict(glabels), "alerts": len(sent),
                        "send_resolved": resolved_too, "resolved_dropped": len(members) - len(sent),
                        "sent": bool(sent) and not muted_by and not inactive,
                        "muted_by": muted_by, "outside_active_time_intervals": inactive,
                        "fields": fields, "errors": errors, "html_template": html_keys})
    return out
