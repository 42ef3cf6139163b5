"""opsctl.parallel: forked workers give the sequential answer, also when a worker fails."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl.parallel import can_fork, map_forked, split_balanced

pytestmark = pytest.mark.skipif(not can_fork(), reason="fork-based workers are Linux-only")


def test_chunks_after_the_first_run_in_other_processes() -> None:
    parent = os.getpid()
    out = map_forked(lambda chunk: (os.getpid(), [x * x for x in chunk]), [range(3), range(3, 6), range(6, 9)])
    assert [r[1] for r in out] == [[0, 1, 4], [9, 16, 25], [36, 49, 64]]
    assert out[0][0] == parent
    assert out[1][0] != parent and out[2][0] != parent and out[1][0] != out[2][0]


def test_before_send_runs_in_the_worker_only() -> None:
    out = map_forked(lambda chunk: list(chunk), [range(2), range(2, 4)], before_send=lambda r: [-x for x in r])
    assert out == [[0, 1], [-2, -3]]


@pytest.mark.parametrize("failure", ["raise", "exit", "kill", "unpicklable"])
def test_a_failing_worker_has_its_chunk_redone_here(failure: str) -> None:
    parent = os.getpid()

    def fn(chunk: range) -> list[object]:
        if os.getpid() != parent and chunk.start == 10:
            if failure == "raise":
                raise RuntimeError("boom")
            if failure == "exit":
                os._exit(3)
            if failure == "kill":
                os.kill(os.getpid(), 9)
            return [lambda: None]  # cannot be pickled
        return [x + 1 for x in chunk]

    out = map_forked(fn, [range(0, 10), range(10, 20), range(20, 30)])
    assert out == [list(range(1, 11)), list(range(11, 21)), list(range(21, 31))]


def test_no_worker_is_left_behind_when_this_process_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    def fn(chunk: range) -> int:
        if os.getpid() == parent:
            raise ValueError("parent fails")
        return 1

    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(ValueError, match="parent fails"):
        map_forked(fn, [range(1), range(1), range(1)])
    assert len(forked) == 2
    for pid in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped


@given(st.lists(st.integers(min_value=0, max_value=500), max_size=60), st.integers(min_value=1, max_value=10))
def test_split_balanced_covers_every_index_once_in_order(weights: list[int], parts: int) -> None:
    ranges = split_balanced(weights, parts)
    assert [i for r in ranges for i in r] == list(range(len(weights)))
    assert all(len(r) > 0 for r in ranges)
    assert len(ranges) <= max(1, min(parts, len(weights))) if weights else ranges == []
    if weights and parts <= len(weights):
        assert len(ranges) == parts


def test_split_balanced_balances_weight() -> None:
    ranges = split_balanced([50] * 200, 2)
    assert [len(r) for r in ranges] == [100, 100]
    weights = [1000, 1, 1, 1, 1000, 1]
    assert [sum(weights[i] for i in r) for r in split_balanced(weights, 2)] == [1002, 1002]


@given(st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=60),
       st.integers(min_value=1, max_value=8))
def test_split_balanced_parts_are_never_much_heavier_than_a_fair_share(weights: list[int], parts: int) -> None:
    fair = sum(weights) / min(parts, len(weights))
    assert max(sum(weights[i] for i in r) for r in split_balanced(weights, parts)) <= fair + max(weights)
