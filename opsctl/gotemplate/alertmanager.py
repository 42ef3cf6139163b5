"""Alertmanager 0.25 notification templates: the data model (template.Data, Alert, KV, Pairs), the
function set (template.DefaultFuncs) and template loading/rendering as Alertmanager does it
(template.FromGlobs + ExecuteTextString: built-in default.tmpl first, then user files; missingkey=zero).
"""

from __future__ import annotations

import datetime as dt
import glob as globmod
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from opsctl.gotemplate.builtins import GoFunc, gofunc, gomethod
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import GoSlice, StrMap
from opsctl.gotemplate.goregexp import RegexpError, go_match_string, go_replace_all_string
from opsctl.gotemplate.gotime import ZERO_TIME, GoTime
from opsctl.gotemplate.lexer import go_quote
from opsctl.gotemplate.prometheus import HTML, go_lower, go_upper
from opsctl.gotemplate.template import Template


class StringSlice(GoSlice):
    gotype = "[]string"


@dataclass
class Pair:
    Name: str
    Value: str
    gotype = "template.Pair"


class Pairs(list[Pair]):
    gotype = "template.Pairs"

    def Names(self) -> StringSlice:
        return StringSlice(p.Name for p in self)

    def Values(self) -> StringSlice:
        return StringSlice(p.Value for p in self)


class KV(StrMap):
    """template.KV: a label or annotation set (map[string]string) with Alertmanager's methods."""

    gotype = "template.KV"

    def SortedPairs(self) -> Pairs:
        keys = sorted((k for k in self if k != "alertname"), key=lambda k: k.encode("utf-8", "surrogateescape"))
        if "alertname" in self:
            keys.insert(0, "alertname")
        return Pairs(Pair(k, self[k]) for k in keys)

    def Names(self) -> StringSlice:
        return self.SortedPairs().Names()

    def Values(self) -> StringSlice:
        return self.SortedPairs().Values()

    @gomethod("[]string")
    def Remove(self, keys: Sequence[str]) -> KV:
        drop = set(keys or ())
        return KV({k: v for k, v in self.items() if k not in drop})


class AlertList(GoSlice):
    gotype = "[]template.Alert"


@dataclass
class Alert:
    """template.Alert."""

    Status: str = ""
    Labels: KV = field(default_factory=KV)
    Annotations: KV = field(default_factory=KV)
    StartsAt: GoTime = ZERO_TIME
    EndsAt: GoTime = ZERO_TIME
    GeneratorURL: str = ""
    Fingerprint: str = ""
    gotype = "template.Alert"

    def __post_init__(self) -> None:
        if not isinstance(self.Labels, KV):
            self.Labels = KV(self.Labels or {})
        if not isinstance(self.Annotations, KV):
            self.Annotations = KV(self.Annotations or {})
        if isinstance(self.StartsAt, dt.datetime):
            self.StartsAt = GoTime(self.StartsAt)
        if isinstance(self.EndsAt, dt.datetime):
            self.EndsAt = GoTime(self.EndsAt)


class Alerts(list[Alert]):
    """template.Alerts with .Firing and .Resolved."""

    gotype = "template.Alerts"

    def Firing(self) -> AlertList:
        return AlertList(a for a in self if a.Status == "firing")

    def Resolved(self) -> AlertList:
        return AlertList(a for a in self if a.Status == "resolved")


@dataclass
class Data:
    """template.Data: what notification templates see as dot."""

    Receiver: str = ""
    Status: str = ""
    Alerts: Alerts = field(default_factory=Alerts)
    GroupLabels: KV = field(default_factory=KV)
    CommonLabels: KV = field(default_factory=KV)
    CommonAnnotations: KV = field(default_factory=KV)
    ExternalURL: str = ""
    gotype = "template.Data"

    def __post_init__(self) -> None:
        if not isinstance(self.Alerts, Alerts):
            self.Alerts = Alerts(a if isinstance(a, Alert) else Alert(**a) for a in (self.Alerts or []))
        for name in ("GroupLabels", "CommonLabels", "CommonAnnotations"):
            v = getattr(self, name)
            if not isinstance(v, KV):
                setattr(self, name, KV(v or {}))

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Data:
        """Build from Alertmanager's webhook / amtool --template.data JSON layout. Raises ValueError."""
        if not isinstance(obj, Mapping):
            raise ValueError("template data must be a JSON object")
        alerts = Alerts()
        for i, a in enumerate(obj.get("alerts") or []):
            if not isinstance(a, Mapping):
                raise ValueError(f"alerts[{i}] must be an object")
            alerts.append(Alert(
                Status=_str(a.get("status"), f"alerts[{i}].status"),
                Labels=_kv(a.get("labels"), f"alerts[{i}].labels"),
                Annotations=_kv(a.get("annotations"), f"alerts[{i}].annotations"),
                StartsAt=parse_rfc3339(a.get("startsAt"), f"alerts[{i}].startsAt"),
                EndsAt=parse_rfc3339(a.get("endsAt"), f"alerts[{i}].endsAt"),
                GeneratorURL=_str(a.get("generatorURL"), f"alerts[{i}].generatorURL"),
                Fingerprint=_str(a.get("fingerprint"), f"alerts[{i}].fingerprint"),
            ))
        return cls(
            Receiver=_str(obj.get("receiver"), "receiver"),
            Status=_str(obj.get("status"), "status"),
            Alerts=alerts,
            GroupLabels=_kv(obj.get("groupLabels"), "groupLabels"),
            CommonLabels=_kv(obj.get("commonLabels"), "commonLabels"),
            CommonAnnotations=_kv(obj.get("commonAnnotations"), "commonAnnotations"),
            ExternalURL=_str(obj.get("externalURL"), "externalURL"),
        )


def _str(v: Any, where: str) -> str:
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ValueError(f"{where}: expected a string")
    return v


def _kv(v: Any, where: str) -> KV:
    if v is None:
        return KV()
    if not isinstance(v, Mapping) or not all(isinstance(x, str) for x in v.values()):
        raise ValueError(f"{where}: expected an object of strings")
    return KV({str(k): x for k, x in v.items()})


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})")


def parse_rfc3339(v: Any, where: str = "time") -> GoTime:
    """time.Time's JSON decoding (RFC 3339 with optional fractional seconds)."""
    if v is None:
        return ZERO_TIME
    if not isinstance(v, str):
        raise ValueError(f"{where}: expected an RFC 3339 time string")
    m = _RFC3339.fullmatch(v)
    if not m:
        raise ValueError(f"{where}: cannot parse {v!r} as RFC 3339 time")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    nanos = int(frac) if frac else 0
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        off = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
        tz = dt.UTC if off == dt.timedelta(0) else dt.timezone(off)
    try:
        when = dt.datetime(y, mo, d, h, mi, s, nanos // 1000, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return GoTime(when, nanos)


# ------------------------------------------------------------------ functions

# Unicode word-break MidLetter / MidNumLet / Single_Quote: word-internal punctuation for cases.Title
_MID = set(":\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a.\u2018\u2019\u2024\ufe52\uff07\uff0e'")


def _is_cased(c: str) -> bool:
    return c.lower() != c.upper() or unicodedata.category(c) in ("Lu", "Ll", "Lt")


def _is_break(c: str) -> bool:
    cat = unicodedata.category(c)
    return not (cat[0] in "LMN" or cat == "Pc")


def cases_title(s: str) -> str:
    """golang.org/x/text/cases.Title(language.AmericanEnglish).String (Alertmanager 0.25's title): the first
    cased letter of each word title-cased, the rest of the word lower-cased."""
    out: list[str] = []
    mid_word = False
    prev_mid = False
    for c in s:
        is_mid = c in _MID
        if prev_mid and is_mid:
            mid_word = False
        if _is_cased(c):
            if not mid_word:
                t = c.title()
                out.append(t if len(t) == 1 else c.upper() if len(c.upper()) == 1 else c)
                mid_word = True
            else:
                low = c.lower()
                out.append(low if len(low) == 1 else c)
        else:
            out.append(c)
            if not is_mid and _is_break(c):
                mid_word = False
        prev_mid = is_mid
    return "".join(out)


@gofunc("string", "[]string")
def _join(sep: str, s: Sequence[str]) -> str:
    return sep.join(s or ())


@gofunc("string", "string")
def _match(pattern: str, s: str) -> bool:
    return go_match_string(pattern, s)


@gofunc("string")
def _safe_html(text: str) -> HTML:
    return HTML(text)


@gofunc("string", "string", "string")
def _re_replace_all(pattern: str, repl: str, text: str) -> str:
    try:
        return go_replace_all_string(pattern, repl, text)
    except RegexpError as exc:
        raise RegexpError(f"regexp: Compile(`{pattern}`): {exc}") from None


@gofunc("string", variadic=True)
def _string_slice(*s: str) -> StringSlice:
    return StringSlice(s)


ALERTMANAGER_FUNCS: dict[str, Any] = {
    "toUpper": GoFunc(go_upper, ("string",), False, "toUpper"),
    "toLower": GoFunc(go_lower, ("string",), False, "toLower"),
    "title": GoFunc(cases_title, ("string",), False, "title"),
    "join": _join,
    "match": _match,
    "safeHtml": _safe_html,
    "reReplaceAll": _re_replace_all,
    "stringSlice": _string_slice,
}


def default_template_text() -> str:
    return resources.files("opsctl.gotemplate").joinpath("data/default.tmpl").read_text(encoding="utf-8")


def email_template_text() -> str:
    """Alertmanager 0.25's template/email.tmpl (email.default.subject, email.default.html)."""
    return resources.files("opsctl.gotemplate").joinpath("data/email.tmpl").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _default_trees() -> dict[str, Any]:
    """The parsed built-in templates (parse trees are never mutated, so sets can share them)."""
    t = Template("", ALERTMANAGER_FUNCS, missingkey="zero")
    t.add(default_template_text(), "")
    t.add(email_template_text(), "")
    return dict(t.trees)


class AlertmanagerTemplates:
    """The built-in default templates plus user template files, as Alertmanager 0.25 loads them.

    ``globs`` are file globs (relative ones resolve against ``base_dir``); each file is parsed as a template
    named by its base name, so its ``define``s join the set (a later definition replaces an earlier one, as
    in Go). Parse errors raise TemplateError (``.path`` names the file)."""

    def __init__(self, globs: Iterable[str] = (), *, base_dir: str | os.PathLike[str] | None = None,
                 include_defaults: bool = True) -> None:
        self.template = Template("", ALERTMANAGER_FUNCS, missingkey="zero")
        self.files: list[Path] = []
        if include_defaults:
            self.template.trees = dict(_default_trees())
        for g in globs:
            pattern = str(Path(base_dir) / g) if base_dir is not None and not os.path.isabs(g) else g
            for path in sorted(globmod.glob(pattern)):
                self.add_file(path)

    def add_file(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        try:
            self.template.add(text, p.name)
        except TemplateError as err:
            err.path = str(p)  # type: ignore[attr-defined]
            raise
        self.files.append(p)

    def add_text(self, text: str, name: str) -> None:
        self.template.add(text, name)

    def names(self) -> list[str]:
        return [n for n in self.template.names() if n]

    def lookup(self, name: str) -> bool:
        return bool(name) and self.template.lookup(name)

    def render_text(self, text: str, data: Data | Any, *, html: bool = False) -> str:
        """template.ExecuteTextString: parse ``text`` as template "" against the set and execute it.
        ``html=True`` is ExecuteHTMLString (html/template contextual escaping: email ``html`` bodies)."""
        if text == "":
            return ""
        t = Template("", self.template.funcs, missingkey="zero", html=html)
        t.trees = dict(self.template.trees)
        t.add(text, "")
        return t.execute(data)

    def render_template(self, name: str, data: Data | Any, *, html: bool = False) -> str:
        if not self.lookup(name):
            raise TemplateError(f"template: no template {go_quote(name)} defined", name=name,
                                message=f"no template {go_quote(name)} defined")
        return self.render_text("{{ template " + go_quote(name) + " . }}", data, html=html)

    def render(self, template_text_or_name: str, data: Data | Any, *, html: bool = False) -> str:
        """Render a defined template by name (e.g. "slack.default.title") or else a template text."""
        if "{{" not in template_text_or_name and self.lookup(template_text_or_name):
            return self.render_template(template_text_or_name, data, html=html)
        return self.render_text(template_text_or_name, data, html=html)


__all__ = [
    "ALERTMANAGER_FUNCS",
    "KV",
    "Alert",
    "AlertList",
    "AlertmanagerTemplates",
    "Alerts",
    "Data",
    "Pair",
    "Pairs",
    "StringSlice",
    "cases_title",
    "default_template_text",
    "email_template_text",
    "parse_rfc3339",
]
