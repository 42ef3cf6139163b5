"""Oracle: routes opsctl says are muted / outside their active time intervals *now* are exactly the ones a
real Alertmanager 0.25 does not notify (time zones, weekdays, negative days of month, months, years)."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from opsctl.alertmanager.config import load_config
from opsctl.alertmanager.inhibit import Alert, evaluate
from tests.alertmanager.amserver import Capture, alertmanager, post_alerts
from tests.conftest import find_tool

DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def _hhmm(minutes: int) -> str:
    minutes = max(0, min(1440, minutes))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _intervals(now: datetime) -> dict[str, dict[str, Any]]:
    """Named intervals around `now`, some holding, some not."""
    out: dict[str, dict[str, Any]] = {}
    for zone in ("UTC", "Asia/Kolkata", "America/Los_Angeles", "Pacific/Chatham"):
        local = now.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        dim = calendar.monthrange(local.year, local.month)[1]
        wd = DAYS[(local.weekday() + 1) % 7]
        other = DAYS[(local.weekday() + 3) % 7]
        key = zone.split("/")[-1].lower()
        out[f"{key}-now"] = {"location": zone, "times": [{"start_time": _hhmm(minute - 60),
                                                          "end_time": _hhmm(minute + 60)}]}
        lo, hi = (minute + 90, minute + 180) if minute + 180 <= 1440 else (minute - 180, minute - 90)
        out[f"{key}-later"] = {"location": zone, "times": [{"start_time": _hhmm(lo), "end_time": _hhmm(hi)}]}
        out[f"{key}-today"] = {"location": zone, "weekdays": [wd]}
        out[f"{key}-otherday"] = {"location": zone, "weekdays": [other]}
        out[f"{key}-negdom"] = {"location": zone, "days_of_month": [f"{local.day - dim - 1}:-1"]}
        out[f"{key}-negdom-miss"] = {"location": zone,
                                     "days_of_month": [f"{local.day - dim + 1}:-1"] if local.day < dim else ["1:1"]}
        out[f"{key}-month"] = {"location": zone, "months": [calendar.month_name[local.month].lower()],
                               "years": [f"{local.year}:{local.year + 1}"]}
        out[f"{key}-lastyear"] = {"location": zone, "years": [str(local.year - 1)]}
    return out


@pytest.mark.oracle
def test_mute_and_active_intervals_match_real_alertmanager(tmp_path: Path) -> None:
    binary = find_tool("prometheus-alertmanager")
    now = datetime.now(UTC)
    intervals = _intervals(now)
    names = sorted(intervals)
    with Capture() as cap:
        routes, receivers = [], [{"name": "none"}]
        for i, name in enumerate(names):
            for mode in ("mute", "active"):
                rname = f"{mode}-{i}"
                routes.append({"matchers": ['probe="x"'], "receiver": rname, "continue": True,
                               "group_wait": "1s", f"{mode}_time_intervals": [name]})
                receivers.append({"name": rname,
                                  "webhook_configs": [{"url": f"http://127.0.0.1:{cap.port}/{rname}"}]})
        cfg = {"route": {"receiver": "none", "routes": routes}, "receivers": receivers,
               "time_intervals": [{"name": n, "time_intervals": [intervals[n]]} for n in names]}
        path = tmp_path / "am.yml"
        path.write_text(yaml.safe_dump(cfg))
        config = load_config(path, version=(0, 25))
        verdict = evaluate(config, [Alert({"probe": "x"})], now)[0]
        expected = {"/" + r.receiver for r in verdict.routes if not r.muted}
        assert 0 < len(expected) < len(routes)
        with alertmanager(binary, path, tmp_path) as url:
            post_alerts(url, [{"labels": {"probe": "x"},
                               "endsAt": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}])
            cap.wait_for(len(expected), timeout=30)
            time.sleep(2)  # muted routes would have been notified by now (group_wait 1s)
            got = {p for p, _ in cap.requests}
    assert got == expected
