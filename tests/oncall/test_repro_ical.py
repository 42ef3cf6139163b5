"""Regression tests: iCal export then import keeps everyone where shifts overlap (issue 12 point 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.oncall import timeutil
from opsctl.oncall.ical import export_ical, import_ical
from opsctl.oncall.schedule import Schedule, load_schedule, parse_schedule
from tests.conftest import run_opsctl

from .helpers import BERLIN, t

DATA = Path(__file__).resolve().parent / "data"
EX = Path(__file__).resolve().parents[2] / "examples" / "oncall"
UTC = timeutil.zone("UTC")


def _people(s: Schedule, a: float, b: float) -> list[tuple[float, float, tuple[str, ...]]]:
    """The rendered schedule with adjacent pieces of the same people joined (sources do not matter)."""
    out: list[tuple[float, float, tuple[str, ...]]] = []
    for g in s.render(a, b):
        users = tuple(sorted(g.users))
        if out and out[-1][1] == g.start and out[-1][2] == users:
            out[-1] = (out[-1][0], g.end, users)
        else:
            out.append((g.start, g.end, users))
    return out


def test_union_schedule_round_trip_keeps_everyone() -> None:
    s = load_schedule(DATA / "union-roundtrip.yaml")
    a, b = t("2026-05-04T00:00:00", UTC), t("2026-05-11T00:00:00", UTC)
    want = _people(s, a, b)
    # hand-worked: p1 alone 00-12, p1+s1 12-24, then p2+s1, p1+s1 ... (primary 1 d turns, shadow from 12:00)
    assert want[:3] == [(a, a + 12 * 3600, ("p1",)), (a + 12 * 3600, a + 86400, ("p1", "s1")),
                        (a + 86400, a + 2 * 86400, ("p2", "s1"))]
    back = Schedule("u", "u", "UTC", [], import_ical(export_ical(s, s.render(a, b)), UTC))
    assert _people(back, a, b) == want
    # "latest" keeps the old reading: one person per piece
    latest = Schedule("u", "u", "UTC", [], import_ical(export_ical(s, s.render(a, b)), UTC, overlap="latest"))
    assert all(len(u) == 1 for _, _, u in _people(latest, a, b))


def test_union_round_trip_through_the_commands(tmp_path: Path) -> None:
    ics, out = tmp_path / "u.ics", tmp_path / "u.yaml"
    p = run_opsctl("oncall", "export-ical", "--schedule", str(DATA / "union-roundtrip.yaml"), "--from",
                   "2026-05-04T00:00:00Z", "--to", "2026-05-11T00:00:00Z", "-o", str(ics))
    assert p.returncode == 0, p.stderr
    p = run_opsctl("oncall", "import-ical", str(ics), "--from", "2026-05-04T00:00:00Z", "--to",
                   "2026-05-11T00:00:00Z", "-o", str(out))
    assert p.returncode == 0, p.stderr
    doc = yaml.safe_load(out.read_text())
    assert {"start": "2026-05-04T12:00:00+00:00", "end": "2026-05-05T00:00:00+00:00",
            "users": ["p1", "s1"]} in doc["overrides"]
    back = parse_schedule(doc, "u.yaml")
    s = load_schedule(DATA / "union-roundtrip.yaml")
    a, b = t("2026-05-04T00:00:00", UTC), t("2026-05-11T00:00:00", UTC)
    assert _people(back, a, b) == _people(s, a, b)
    bad = run_opsctl("oncall", "import-ical", str(ics), "--overlap", "merge")
    assert bad.returncode == 2 and "--overlap" in bad.stderr


def test_overrides_with_several_users_in_yaml() -> None:
    s = parse_schedule({"id": "x", "time_zone": "UTC", "overrides": [
        {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "users": ["a", "b", "a"]}]}, "x.yaml")
    assert s.overrides[0].users == ("a", "b") and s.users() == ["a", "b"]
    assert [g.users for g in s.render(t("2026-01-01T00:00:00", UTC), t("2026-01-03T00:00:00", UTC))] == [("a", "b")]


def test_example_calendar_cover_is_together_with_the_rotation() -> None:
    # examples/oncall/recurring.ics: dave's month-end weekend cover overlaps alice's week; read together,
    # both are on call from Fri 18:00 to the Monday hand-off.
    path = EX / "recurring.ics"
    got = import_ical(path.read_text(), BERLIN, str(path), t("2026-03-16T00:00:00"), t("2026-04-06T00:00:00"))
    pieces = [(timeutil.iso(o.start, BERLIN), timeutil.iso(o.end, BERLIN), o.users) for o in got]
    assert ("2026-03-23T09:00:00+01:00", "2026-03-27T18:00:00+01:00", ("alice",)) in pieces
    assert ("2026-03-27T18:00:00+01:00", "2026-03-30T09:00:00+02:00", ("alice", "dave")) in pieces


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 72), st.integers(1, 48)), min_size=1, max_size=8),
       st.sampled_from(["priority", "union"]))
def test_round_trip_is_exact_for_any_layers(layers: list[tuple[int, int, int]], mode: str) -> None:
    # random layers (user count, start offset h, turn length h), either mode: export then import gives the
    # same people at every instant of the window
    doc = {"id": "r", "time_zone": "Europe/Berlin", "mode": mode, "schedule_layers": [
        {"name": f"l{i}", "start": f"2026-03-2{i % 3}T{off % 24:02d}:00:00", "rotation_turn_length": f"{turn}h",
         "users": [f"u{i}{k}" for k in range(n + 1)]} for i, (n, off, turn) in enumerate(layers)]}
    s = parse_schedule(doc, "r.yaml")
    a, b = t("2026-03-25T00:00:00"), t("2026-04-02T00:00:00")
    back = Schedule("r", "r", "Europe/Berlin", [], import_ical(export_ical(s, s.render(a, b)), BERLIN))
    assert _people(back, a, b) == _people(s, a, b)


EVENTS_JS = r"""
const mod = require(process.env.OPSCTL_ICALJS || 'ical.js');
const ICAL = mod.default || mod;
const comp = new ICAL.Component(ICAL.parse(require('fs').readFileSync(0, 'utf8')));
const out = comp.getAllSubcomponents('vevent').map(v => {
  const ev = new ICAL.Event(v);
  return [ev.startDate.toUnixTime(), ev.endDate.toUnixTime(), v.getFirstPropertyValue('x-opsctl-user')];
});
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.oracle
def test_union_export_read_by_icaljs_has_everyone() -> None:
    """Oracle: Mozilla's ical.js reads the exported union calendar; the people it finds at every instant
    are those opsctl renders, and those opsctl's import gives back."""
    import json
    import subprocess

    from .test_ical_oracle import _icaljs

    node = _icaljs()
    s = load_schedule(DATA / "union-roundtrip.yaml")
    a, b = t("2026-05-04T00:00:00", UTC), t("2026-05-11T00:00:00", UTC)
    data = export_ical(s, s.render(a, b))
    p = subprocess.run([node, "-e", EVENTS_JS], input=data.decode(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    events = json.loads(p.stdout)
    back = Schedule("u", "u", "UTC", [], import_ical(data, UTC))
    points = sorted({x for ev in events for x in ev[:2]} | {a})[:-1]
    for ts in points:
        theirs = tuple(sorted(u for st_, en, u in events if st_ <= ts < en))
        assert theirs == tuple(sorted(coverage_at(s, ts))) == tuple(sorted(coverage_at(back, ts))), ts
    assert len(points) == 8  # 00:00 p1, 12:00 p1+s1, then a new pair every midnight


def coverage_at(s: Schedule, ts: float) -> tuple[str, ...]:
    from opsctl.oncall.coverage import Timeline

    return Timeline(s.render(ts - 1, ts + 1)).at(ts)
