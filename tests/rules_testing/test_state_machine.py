"""The vectorised alert state machine of the backtest, on answers worked out by hand."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.rules.backtest import RawEpisode, _steps_for, episodes_from_presence


def p(s: str) -> np.ndarray:
    return np.array([c == "1" for c in s], dtype=bool)


def test_for_and_resolve() -> None:
    # steps:        0123456789
    eps, pend = episodes_from_presence(p("1110011110"), for_steps=2, keep_steps=0)
    # run 0-2: pending at 0, fires at 2, resolved at 3; run 5-8: pending 5, fires 7, resolved 9.
    assert eps == [RawEpisode(0, 2, 3), RawEpisode(5, 7, 9)]
    assert pend == 0


def test_pending_that_goes_away_never_fires() -> None:
    eps, pend = episodes_from_presence(p("1100111100"), for_steps=3, keep_steps=0)
    assert eps == [RawEpisode(4, 7, 8)]
    assert pend == 1


def test_keep_firing_for_bridges_short_gaps() -> None:
    # gap of 2 absent steps; keep 2 bridges it, ongoing at the end (resolution 8+1+2 = 11 >= 10).
    eps, _ = episodes_from_presence(p("1110011110"), for_steps=2, keep_steps=2)
    assert eps == [RawEpisode(0, 2, None)]
    # keep 1 does not: first episode resolved at 2+1+1 = 4, second one at 8+1+1 = 10 -> past the end.
    eps, _ = episodes_from_presence(p("1110011110"), for_steps=2, keep_steps=1)
    assert eps == [RawEpisode(0, 2, 4), RawEpisode(5, 7, None)]


def test_keep_applies_only_once_firing() -> None:
    # pending alert (for 3 steps) disappears: dropped even though keep_firing_for is set
    eps, pend = episodes_from_presence(p("1101111000"), for_steps=3, keep_steps=5)
    assert eps == [RawEpisode(3, 6, None)]  # resolves at 6+1+5 = 12 > 9
    assert pend == 1


def test_continued_episode_needs_no_new_for() -> None:
    # fires at 0 (for 0), kept through 1 absent step, comes back at 2: still the same firing episode.
    eps, _ = episodes_from_presence(p("1010000000"), for_steps=0, keep_steps=1)
    assert eps == [RawEpisode(0, 0, 4)]


def test_edge_cases() -> None:
    assert episodes_from_presence(p(""), 0, 0) == ([], 0)
    assert episodes_from_presence(p("0000"), 0, 0) == ([], 0)
    assert episodes_from_presence(p("1111"), 0, 0) == ([RawEpisode(0, 0, None)], 0)
    assert episodes_from_presence(p("0001"), 0, 0) == ([RawEpisode(3, 3, None)], 0)
    assert _steps_for(0, 60) == 0
    assert _steps_for(60, 60) == 1
    assert _steps_for(61, 60) == 2
    assert _steps_for(45, 30) == 2
    assert _steps_for(0.5, 60) == 1


def _reference(present: list[bool], for_steps: int, keep_steps: int) -> list[tuple[int, int, int | None]]:
    """Step-by-step transcription of Prometheus' AlertingRule.Eval for one label set (step = 1)."""
    state = "inactive"
    active = fired = keep_since = -1
    out: list[tuple[int, int, int | None]] = []
    for t, here in enumerate(present):
        if here:
            if state == "inactive":
                state, active = "pending", t
            keep_since = -1
            if state == "pending" and t - active >= for_steps:
                state, fired = "firing", t
        else:
            if state == "pending":
                state = "inactive"
            elif state == "firing":
                keep = False
                if keep_steps > 0:
                    if keep_since < 0:
                        keep_since = t
                    keep = t - keep_since < keep_steps
                if not keep:
                    out.append((active, fired, t))
                    state, keep_since = "inactive", -1
    if state == "firing":
        out.append((active, fired, None))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.booleans(), max_size=60), st.integers(0, 6), st.integers(0, 6))
def test_matches_step_by_step_reference(present: list[bool], for_steps: int, keep_steps: int) -> None:
    eps, _ = episodes_from_presence(np.array(present, dtype=bool), for_steps, keep_steps)
    assert [(e.active, e.fired, e.resolved) for e in eps] == _reference(present, for_steps, keep_steps)
