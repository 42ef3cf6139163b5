"""Half-open intervals of epoch seconds and the sweep that builds a final timeline.

`sweep()` turns prioritised, possibly overlapping entries into sorted, non-overlapping segments:
in `priority` mode the entry with the highest priority covers each instant (PagerDuty's "higher layer
wins", overrides on top); in `union` mode everyone whose entry covers an instant is on call together.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from typing import Literal

Mode = Literal["priority", "union"]


@dataclass(frozen=True, slots=True)
class Entry:
    """A stretch of on-call time from one layer/override: [start, end) in epoch seconds."""

    start: float
    end: float
    users: tuple[str, ...]
    priority: int
    source: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a rendered (final) schedule: who is on call during [start, end)."""

    start: float
    end: float
    users: tuple[str, ...]
    source: str

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600.0


def sweep(entries: list[Entry], mode: Mode = "priority") -> list[Segment]:
    """Final non-overlapping segments (gaps left out), adjacent equal segments merged."""
    live = [e for e in entries if e.end > e.start and e.users]
    if not live:
        return []
    points = sorted({e.start for e in live} | {e.end for e in live})
    by_start = sorted(range(len(live)), key=lambda i: live[i].start)
    out: list[Segment] = []
    nxt = 0
    if mode == "priority":
        heap: list[tuple[int, int, int]] = []
        for k in range(len(points) - 1):
            t, t2 = points[k], points[k + 1]
            while nxt < len(by_start) and live[by_start[nxt]].start <= t:
                i = by_start[nxt]
                heapq.heappush(heap, (-live[i].priority, -i, i))
                nxt += 1
            while heap and live[heap[0][2]].end <= t:
                heapq.heappop(heap)
            if heap:
                e = live[heap[0][2]]
                _append(out, Segment(t, t2, e.users, e.source))
        return out
    active: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    by_end = sorted(range(len(live)), key=lambda i: live[i].end)
    nend = 0
    for k in range(len(points) - 1):
        t, t2 = points[k], points[k + 1]
        while nend < len(by_end) and live[by_end[nend]].end <= t:
            e = live[by_end[nend]]
            # start < end <= t, so this entry was added at an earlier point
            for u in e.users:
                active[u] -= 1
            sources[e.source] -= 1
            nend += 1
        while nxt < len(by_start) and live[by_start[nxt]].start <= t:
            e = live[by_start[nxt]]
            for u in e.users:
                active[u] += 1
            sources[e.source] += 1
            nxt += 1
        users = tuple(sorted(u for u, n in active.items() if n > 0))
        if users:
            src = "+".join(sorted(s for s, n in sources.items() if n > 0))
            _append(out, Segment(t, t2, users, src))
    return out


def _append(out: list[Segment], seg: Segment) -> None:
    if out and out[-1].end == seg.start and out[-1].users == seg.users and out[-1].source == seg.source:
        out[-1] = Segment(out[-1].start, seg.end, seg.users, seg.source)
    else:
        out.append(seg)


def merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of intervals, sorted and coalesced (touching intervals join)."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Intersection of two sorted, coalesced interval lists."""
    out: list[tuple[float, float]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(covered: list[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """Parts of [start, end) not in the sorted, coalesced `covered` list."""
    out: list[tuple[float, float]] = []
    t = start
    for s, e in covered:
        if e <= t:
            continue
        if s >= end:
            break
        if s > t:
            out.append((t, min(s, end)))
        t = max(t, e)
        if t >= end:
            break
    if t < end:
        out.append((t, end))
    return out
