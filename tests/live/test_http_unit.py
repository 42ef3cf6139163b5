"""opsctl.live.http and the Alertmanager value types, without a server."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.matchers import Matcher, MatchType
from opsctl.live.alertmanager import (
    EXPIRE_ON_RESOLVE_TAG,
    Alert,
    Silence,
    audit,
    format_time,
    parse_time,
    reap_candidates,
)
from opsctl.live.http import Endpoint, LiveError


def _ep(handler, **kw) -> Endpoint:  # type: ignore[no-untyped-def]
    return Endpoint("http://am.test/prefix/", transport=httpx.MockTransport(handler), sleep=lambda s: None, **kw)


def test_prefix_tenant_and_token_sent() -> None:
    seen: list[httpx.Request] = []

    def h(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=[])

    _ep(h, tenant="team-a", bearer_token="tok-12345").get("/api/v2/silences")
    assert seen[0].url.path == "/prefix/api/v2/silences"
    assert seen[0].headers["X-Scope-OrgID"] == "team-a"
    assert seen[0].headers["Authorization"] == "Bearer tok-12345"


def test_get_retried_post_not_on_500() -> None:
    calls = {"GET": 0, "POST": 0}

    def h(req: httpx.Request) -> httpx.Response:
        calls[req.method] += 1
        return httpx.Response(500, text="boom")

    with pytest.raises(LiveError, match="after 3 attempts"):
        _ep(h).get("/x")
    with pytest.raises(LiveError):
        _ep(h).post("/x", {})
    assert calls == {"GET": 3, "POST": 1}


def test_post_retried_on_503_and_refused_connection() -> None:
    n = {"c": 0}

    def h(req: httpx.Request) -> httpx.Response:
        n["c"] += 1
        if n["c"] == 1:
            raise httpx.ConnectError("refused")
        if n["c"] == 2:
            return httpx.Response(503)
        return httpx.Response(200, json={"silenceID": "x"})

    assert _ep(h).post("/api/v2/silences", {}) == {"silenceID": "x"}
    assert n["c"] == 3


@pytest.mark.parametrize(("status", "words"), [(401, "unauthorized"), (404, "path prefix"), (403, "forbidden")])
def test_one_line_errors_without_secret(status: int, words: str) -> None:
    def h(req: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="token tok-secret-999 rejected\nsecond line")

    with pytest.raises(LiveError) as ei:
        _ep(h, bearer_token="tok-secret-999").get("/api/v2/status")
    msg = str(ei.value)
    assert words in msg and "\n" not in msg and "tok-secret-999" not in msg and ei.value.status_code == status


_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def _matchers(draw: st.DrawFn) -> Matcher:
    t = draw(st.sampled_from([MatchType.EQUAL, MatchType.NOT_EQUAL, MatchType.REGEXP, MatchType.NOT_REGEXP]))
    v = draw(_values) if t in (MatchType.EQUAL, MatchType.NOT_EQUAL) else draw(st.sampled_from(["a|b", ".*", "x.+"]))
    return Matcher.new(t, draw(_names), v)


@settings(max_examples=200, deadline=None)
@given(ms=st.lists(_matchers(), min_size=1, max_size=5), start=st.integers(0, 4_000_000_000),
       length=st.integers(1, 10**8), who=_values, why=_values)
def test_silence_api_round_trip(ms: list[Matcher], start: int, length: int, who: str, why: str) -> None:
    s = Silence(ms, start / 1000 * 1000, (start + length) * 1.0, who, why, id="abc")
    back = Silence.from_api(s.to_api(with_id=True))
    assert back.matchers == s.matchers and back.created_by == who and back.comment == why and back.id == "abc"
    assert abs(back.starts_at - s.starts_at) < 0.001 and abs(back.ends_at - s.ends_at) < 0.001


def test_parse_time_nanoseconds_and_zones() -> None:
    assert parse_time("2026-01-02T03:04:05.123456789Z") == pytest.approx(1767323045.123456)
    assert parse_time("2026-01-02T05:04:05+02:00") == 1767323045.0
    assert format_time(1767323045.5) == "2026-01-02T03:04:05.500Z"
    with pytest.raises(LiveError):
        parse_time("yesterday")


def _sil(name: str, start: float, end: float, comment: str = "") -> Silence:
    return Silence([Matcher.new(MatchType.EQUAL, "alertname", name)], start, end, "me", comment, id=name)


def test_audit_and_reap_rules() -> None:
    now = 1_000_000.0
    alerts = [Alert({"alertname": "Crit", "severity": "critical"}), Alert({"alertname": "Warn"})]
    crit = [Matcher.new(MatchType.EQUAL, "severity", "critical")]
    found = {(f.kind, f.silence_id) for f in audit(
        [_sil("None", now - 10, now + 7200), _sil("Warn", now - 10, now + 30 * 86400),
         _sil("Crit", now - 10, now + 600), _sil("Old", now - 7200, now - 10)], alerts, now, critical=crit)}
    assert found == {("matches-nothing", "None"), ("long-lived", "Warn"), ("mutes-critical", "Crit"),
                     ("expiring-while-firing", "Crit")}
    tag = EXPIRE_ON_RESOLVE_TAG
    reaped = reap_candidates([_sil("Gone", now - 600, now + 600, tag), _sil("Warn", now - 600, now + 600, tag),
                              _sil("Young", now - 10, now + 600, tag), _sil("Plain", now - 600, now + 600)],
                             alerts, now, grace=300)
    assert [s.id for s in reaped] == ["Gone"]


@settings(max_examples=300, deadline=None)
@given(ms=st.lists(_matchers(), min_size=1, max_size=4))
def test_cli_matchers_round_trip(ms: list[Matcher]) -> None:
    from opsctl.live.alertmanager import parse_cli_matchers

    assert parse_cli_matchers([str(m) for m in ms]) == ms


def test_cli_matchers_bare_alertname_and_errors() -> None:
    from opsctl.errors import InputError
    from opsctl.live.alertmanager import parse_cli_matchers

    assert [str(m) for m in parse_cli_matchers(['Disk "Full"', "a=b"])] == \
        ['alertname="Disk \\"Full\\""', 'a="b"']
    with pytest.raises(InputError):
        parse_cli_matchers(['job=~"(x"'])
