"""Alertmanager v2 API client, silences and alerts as typed values, and the checks opsctl adds.

`AlertmanagerAPI(endpoint)` wraps `/api/v2` (status, alerts, alert groups, silences) of Alertmanager
0.25+ (and Mimir/Cortex's Alertmanager behind a path prefix with `X-Scope-OrgID`). `Silence` and `Alert`
are the documented JSON shapes read into dataclasses; `Silence.to_api()` writes what `amtool silence
import` and `POST /api/v2/silences` read.

Beyond amtool:
- `audit(silences, alerts, now, ...)`: silences that match no alert, long-lived ones, ones that mute
  critical alerts, and ones about to expire while their alerts still fire.
- Expire-on-resolve: a silence whose comment carries `EXPIRE_ON_RESOLVE_TAG` is expired by `reap_candidates`
  once no alert it matches is left (after a grace period, so a silence made before its alert arrives
  is kept).
- One logical silence over several Alertmanagers (an HA pair that does not gossip, or several tenants):
  `Silence.logical_key()` identifies copies of the same silence on different targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from opsctl.alertmanager.matchers import Matcher, MatcherError, MatchType, matches_all, parse_matchers
from opsctl.errors import InputError
from opsctl.live.http import Endpoint, LiveError

__all__ = ["EXPIRE_ON_RESOLVE_TAG", "Alert", "AlertmanagerAPI", "AuditFinding", "Silence", "audit",
           "format_time", "matchers_text", "parse_cli_matchers", "parse_time", "reap_candidates"]

EXPIRE_ON_RESOLVE_TAG = "[opsctl:expire-on-resolve]"


def parse_time(text: str | None) -> float | None:
    """Unix seconds of an RFC 3339 time from the API (nanoseconds allowed); None for None/empty."""
    if not text:
        return None
    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Go writes up to 9 fractional digits; Python takes 6.
    if "." in s:
        head, _, rest = s.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        s = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return datetime.fromisoformat(s).timestamp()
    except ValueError:
        raise LiveError(f"unexpected time in API answer: {text!r}") from None


def format_time(ts: float) -> str:
    """RFC 3339 with milliseconds in UTC, as the API reads it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_cli_matchers(args: Sequence[str], what: str = "matchers") -> list[Matcher]:
    """amtool's matcher groups: each argument one matcher (or a `{...}` list); a first argument without an
    operator is the alertname. Raises InputError."""
    out: list[Matcher] = []
    for i, arg in enumerate(args):
        if i == 0 and not any(op in arg for op in ("=", "!~", "=~")) and not arg.startswith("{"):
            out.append(Matcher.new(MatchType.EQUAL, "alertname", arg))
            continue
        try:
            out.extend(parse_matchers(arg))
        except MatcherError as exc:
            raise InputError(f"{exc}", file=what) from None
    return out


def _matcher_to_api(m: Matcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value,
            "isRegex": m.type in (MatchType.REGEXP, MatchType.NOT_REGEXP),
            "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEXP)}


def _matcher_from_api(d: Any) -> Matcher:
    if not isinstance(d, dict) or "name" not in d or "value" not in d:
        raise ValueError(f"a matcher needs name and value: {d!r}")
    regex = bool(d.get("isRegex", False))
    equal = bool(d.get("isEqual", True))
    t = {(False, True): MatchType.EQUAL, (False, False): MatchType.NOT_EQUAL,
         (True, True): MatchType.REGEXP, (True, False): MatchType.NOT_REGEXP}[(regex, equal)]
    try:
        return Matcher.new(t, str(d["name"]), str(d["value"]))
    except MatcherError as exc:
        raise ValueError(str(exc)) from None


@dataclass
class Silence:
    matchers: list[Matcher]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    id: str = ""
    state: str = ""  # active, pending, expired (from the server)
    updated_at: float | None = None
    source: str = ""  # which target it came from (URL and tenant), for several Alertmanagers

    @classmethod
    def from_api(cls, d: Any, source: str = "") -> Silence:
        if not isinstance(d, dict):
            raise ValueError("a silence must be a JSON object")
        ms = d.get("matchers")
        if not isinstance(ms, list) or not ms:
            raise ValueError("a silence needs a non-empty list of matchers")
        starts, ends = parse_time(d.get("startsAt")), parse_time(d.get("endsAt"))
        if starts is None or ends is None:
            raise ValueError("a silence needs startsAt and endsAt")
        status = d.get("status") or {}
        return cls(matchers=[_matcher_from_api(m) for m in ms], starts_at=starts, ends_at=ends,
                   created_by=str(d.get("createdBy", "")), comment=str(d.get("comment", "")),
                   id=str(d.get("id", "")), state=str(status.get("state", "")) if isinstance(status, dict) else "",
                   updated_at=parse_time(d.get("updatedAt")), source=source)

    def to_api(self, *, with_id: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {"matchers": [_matcher_to_api(m) for m in self.matchers],
                               "startsAt": format_time(self.starts_at), "endsAt": format_time(self.ends_at),
                               "createdBy": self.created_by, "comment": self.comment}
        if with_id and self.id:
            doc = {"id": self.id, **doc}
        return doc

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "matchers": [str(m) for m in self.matchers],
                "starts_at": format_time(self.starts_at), "ends_at": format_time(self.ends_at),
                "created_by": self.created_by, "comment": self.comment,
                "expire_on_resolve": self.expire_on_resolve, "source": self.source}

    @property
    def expire_on_resolve(self) -> bool:
        return EXPIRE_ON_RESOLVE_TAG in self.comment

    def matches(self, labels: dict[str, str]) -> bool:
        return matches_all(self.matchers, labels)

    def logical_key(self) -> tuple[Any, ...]:
        """Copies of one logical silence on several targets share this key."""
        return (tuple(sorted(str(m) for m in self.matchers)), round(self.ends_at), self.created_by, self.comment)

    def is_active(self, now: float) -> bool:
        if self.state:
            return self.state == "active"
        return self.starts_at <= now < self.ends_at


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: float | None = None
    ends_at: float | None = None
    state: str = ""  # active, suppressed, unprocessed
    silenced_by: list[str] = field(default_factory=list)
    inhibited_by: list[str] = field(default_factory=list)
    receivers: list[str] = field(default_factory=list)
    fingerprint: str = ""
    generator_url: str = ""
    source: str = ""

    @classmethod
    def from_api(cls, d: Any, source: str = "") -> Alert:
        if not isinstance(d, dict):
            raise LiveError("unexpected alert in API answer: not an object")
        st = d.get("status") or {}
        return cls(labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
                   annotations={str(k): str(v) for k, v in (d.get("annotations") or {}).items()},
                   starts_at=parse_time(d.get("startsAt")), ends_at=parse_time(d.get("endsAt")),
                   state=str(st.get("state", "")), silenced_by=list(st.get("silencedBy") or []),
                   inhibited_by=list(st.get("inhibitedBy") or []),
                   receivers=[str(r.get("name", "")) for r in d.get("receivers") or [] if isinstance(r, dict)],
                   fingerprint=str(d.get("fingerprint", "")), generator_url=str(d.get("generatorURL", "")),
                   source=source)

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "labels": self.labels, "annotations": self.annotations,
                "starts_at": format_time(self.starts_at) if self.starts_at else None,
                "ends_at": format_time(self.ends_at) if self.ends_at else None, "state": self.state,
                "silenced_by": self.silenced_by, "inhibited_by": self.inhibited_by,
                "receivers": self.receivers, "source": self.source}


def post_alert_doc(labels: dict[str, str], annotations: dict[str, str], starts_at: float,
                   ends_at: float | None, generator_url: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": format_time(starts_at)}
    if ends_at is not None:
        doc["endsAt"] = format_time(ends_at)
    if generator_url:
        doc["generatorURL"] = generator_url
    return doc


class AlertmanagerAPI:
    """The v2 API of one Alertmanager (one URL, one tenant)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.ep = endpoint
        self.name = endpoint.url + (f" (tenant {endpoint.tenant})" if endpoint.tenant else "")

    def status(self) -> dict[str, Any]:
        doc = self.ep.get("/api/v2/status")
        if not isinstance(doc, dict):
            raise LiveError(f"{self.name}: /api/v2/status did not answer an object (is this an Alertmanager?)")
        return doc

    def version(self) -> str:
        return str((self.status().get("versionInfo") or {}).get("version", ""))

    def alerts(self, matchers: Iterable[Matcher] = (), *, active: bool = True, silenced: bool = True,
               inhibited: bool = True, unprocessed: bool = True, receiver: str | None = None) -> list[Alert]:
        params: list[tuple[str, str]] = [("active", str(active).lower()), ("silenced", str(silenced).lower()),
                                         ("inhibited", str(inhibited).lower()),
                                         ("unprocessed", str(unprocessed).lower())]
        params += [("filter", str(m)) for m in matchers]
        if receiver:
            params.append(("receiver", receiver))
        doc = self.ep.get("/api/v2/alerts", params=params)
        if not isinstance(doc, list):
            raise LiveError(f"{self.name}: /api/v2/alerts did not answer a list")
        return [Alert.from_api(a, self.name) for a in doc]

    def alert_groups(self, matchers: Iterable[Matcher] = (), receiver: str | None = None,
                     **states: bool) -> list[dict[str, Any]]:
        params: list[tuple[str, str]] = [(k, str(v).lower()) for k, v in states.items()]
        params += [("filter", str(m)) for m in matchers]
        if receiver:
            params.append(("receiver", receiver))
        doc = self.ep.get("/api/v2/alerts/groups", params=params)
        if not isinstance(doc, list):
            raise LiveError(f"{self.name}: /api/v2/alerts/groups did not answer a list")
        return doc

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self.ep.post("/api/v2/alerts", alerts)

    def silences(self, matchers: Iterable[Matcher] = ()) -> list[Silence]:
        params = [("filter", str(m)) for m in matchers]
        doc = self.ep.get("/api/v2/silences", params=params)
        if not isinstance(doc, list):
            raise LiveError(f"{self.name}: /api/v2/silences did not answer a list")
        try:
            return [Silence.from_api(s, self.name) for s in doc]
        except ValueError as exc:
            raise LiveError(f"{self.name}: unexpected silence in API answer: {exc}") from None

    def silence(self, silence_id: str) -> Silence:
        doc = self.ep.get(f"/api/v2/silence/{quote(silence_id, safe='')}")
        try:
            return Silence.from_api(doc, self.name)
        except ValueError as exc:
            raise LiveError(f"{self.name}: unexpected silence in API answer: {exc}") from None

    def add_silence(self, s: Silence, *, update: bool = False) -> str:
        doc = self.ep.post("/api/v2/silences", s.to_api(with_id=update))
        if not isinstance(doc, dict) or "silenceID" not in doc:
            raise LiveError(f"{self.name}: POST /api/v2/silences did not answer a silenceID")
        return str(doc["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        self.ep.request("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}", expect_json=False)


# --- opsctl's additions -------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFinding:
    kind: str  # matches-nothing, long-lived, mutes-critical, expiring-while-firing
    silence_id: str
    message: str
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "silence_id": self.silence_id, "message": self.message, "source": self.source}


AUDIT_KINDS = {
    "matches-nothing": "an active silence that matches no current alert (stale, or a typo in a matcher)",
    "long-lived": "an active silence longer than --max-duration in total",
    "mutes-critical": "an active silence that mutes an alert matching --critical (severity=critical)",
    "expiring-while-firing": "ends within --expiring-within while an alert it mutes still fires",
}


def _fmt_span(seconds: float) -> str:
    from opsctl.durations import format_duration

    return format_duration(max(0.0, round(seconds)))


def audit(silences: Sequence[Silence], alerts: Sequence[Alert], now: float, *, max_duration: float = 7 * 86400,
          expiring_within: float = 3600, critical: Sequence[Matcher] = ()) -> list[AuditFinding]:
    """Findings for the active silences, given every current alert (all states) of the same target."""
    out: list[AuditFinding] = []
    for s in silences:
        if not s.is_active(now):
            continue
        mine = [a for a in alerts if a.source == s.source or not a.source or not s.source]
        hit = [a for a in mine if s.matches(a.labels)]
        if not hit:
            out.append(AuditFinding("matches-nothing", s.id, f"matches no current alert: {_ms(s)}", s.source))
        total = s.ends_at - s.starts_at
        if total > max_duration:
            out.append(AuditFinding("long-lived", s.id, f"lasts {_fmt_span(total)} in total (ends "
                                    f"{format_time(s.ends_at)}): {_ms(s)}", s.source))
        if critical:
            crit = [a for a in hit if matches_all(list(critical), a.labels)]
            if crit:
                names = sorted({a.labels.get("alertname", "?") for a in crit})
                out.append(AuditFinding("mutes-critical", s.id, f"mutes {len(crit)} critical alert(s) "
                                        f"({', '.join(names)}): {_ms(s)}", s.source))
        left = s.ends_at - now
        if hit and left <= expiring_within:
            names = sorted({a.labels.get("alertname", "?") for a in hit})
            out.append(AuditFinding("expiring-while-firing", s.id, f"ends in {_fmt_span(left)} while "
                                    f"{len(hit)} alert(s) it mutes still fire ({', '.join(names)}): {_ms(s)}",
                                    s.source))
    return out


def matchers_text(s: Silence) -> str:
    return "{" + ",".join(str(m) for m in s.matchers) + "}"


_ms = matchers_text


def reap_candidates(silences: Sequence[Silence], alerts: Sequence[Alert], now: float,
                    grace: float = 300.0) -> list[Silence]:
    """Active expire-on-resolve silences, older than `grace`, whose alerts have all resolved."""
    out = []
    for s in silences:
        if not s.expire_on_resolve or not s.is_active(now) or now - s.starts_at < grace:
            continue
        mine = [a for a in alerts if a.source == s.source or not a.source or not s.source]
        if not any(s.matches(a.labels) for a in mine):
            out.append(s)
    return out
