"""Property: over any sequence of runs, every problem is announced once when it starts and resolved
once when it clears (dedup window longer than the sequence), per series, and nothing stays spooled."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.detect.helpers import T0, config, run, write_series
from tests.detect.servers import Capture

HOSTS = ("a", "b")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=7))
def test_one_firing_and_one_resolved_per_episode(capture: Capture, steps: list[tuple[bool, bool]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        start = len(capture.requests)
        cfg = config(tmp, f'    hook: {{type: webhook, url: "{capture.url}/hook"}}\n',
                     alerting="  dedup_window: 1d").read_text()
        cfg = cfg.replace("  dedup_window: 1h\n", "", 1)
        (tmp / "detectors.yaml").write_text(cfg)
        expected: list[tuple[str, str]] = []
        prev = dict.fromkeys(HOSTS, False)
        for i, hot in enumerate(steps):
            state = dict(zip(HOSTS, hot, strict=True))
            write_series(tmp / "series.csv", state)
            rep = run(tmp / "detectors.yaml", T0 + timedelta(minutes=5 * i))
            assert rep.exit_code == (1 if any(hot) else 0)
            assert rep.counts["spool_pending"] == 0
            for h in HOSTS:
                if state[h] and not prev[h]:
                    expected.append((h, "firing"))
                elif prev[h] and not state[h]:
                    expected.append((h, "resolved"))
            prev = state
        got = [(r["json"]["alert"]["labels"]["host"], r["json"]["alert"]["status"])
               for r in capture.requests[start:]]
        assert sorted(got) == sorted(expected)
        for h in HOSTS:  # per host, in order
            assert [s for x, s in got if x == h] == [s for x, s in expected if x == h]
