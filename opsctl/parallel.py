"""Spread CPU-bound work over forked worker processes, with a sequential result guaranteed.

`map_forked(fn, chunks)` runs `fn(chunks[0])` in this process and every other chunk in a child made
with `os.fork()` (copy-on-write: the children see everything already loaded, nothing is pickled on the
way in). Each child pickles its result back through a pipe. A child that raises, is killed or sends
something unreadable has its chunk redone here, so the answer never depends on the workers; the cost of
a failure is time, not correctness. Where fork is not available (or not safe: macOS, Windows), every
chunk runs here.

Nothing here prints or logs; a child leaves with `os._exit`, so it runs no atexit handlers and flushes
no inherited output buffers.
"""

from __future__ import annotations

import os
import signal
import sys
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import accumulate, pairwise
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def usable_cpus() -> int:
    """CPUs this process may run on (respects affinity masks, e.g. `taskset` and container cpusets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def split_balanced(weights: Sequence[int], parts: int) -> list[range]:
    """Cut indexes 0..len(weights)-1 into min(parts, len) contiguous, non-empty ranges of similar weight."""
    n = len(weights)
    if n == 0:
        return []
    parts = max(1, min(parts, n))
    prefix = list(accumulate(max(w, 1) for w in weights))
    total = prefix[-1]
    cuts = [0]
    for k in range(1, parts):
        end = bisect_left(prefix, total * k / parts) + 1  # first end whose prefix reaches the k-th share
        cuts.append(min(max(end, cuts[-1] + 1), n - (parts - k)))
    cuts.append(n)
    return [range(a, b) for a, b in pairwise(cuts)]


def map_forked(fn: Callable[[T], R], chunks: Sequence[T], *,
               before_send: Callable[[R], R] | None = None) -> list[R]:
    """`[fn(c) for c in chunks]`, with chunks[1:] computed in forked children.

    `before_send` runs in a child on its result before pickling (to drop what cannot or need not travel).
    Results come back in chunk order.
    """
    if len(chunks) <= 1 or not can_fork():
        return [fn(c) for c in chunks]
    children: list[tuple[int, int]] = []
    try:
        for chunk in chunks[1:]:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child; its result is checked by the parent
                _child(fn, chunk, before_send, read_fd, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd))
        results = [fn(chunks[0])]
        pending = list(zip(children, chunks[1:], strict=True))
        children = []
        for (pid, read_fd), chunk in pending:
            results.append(_collect(pid, read_fd, fn, chunk))
        return results
    finally:
        for pid, read_fd in children:  # this process failed before collecting: leave no worker behind
            os.close(read_fd)
            _reap(pid, kill=True)


def _child(fn: Callable[[T], R], chunk: T, before_send: Callable[[R], R] | None, read_fd: int,
           write_fd: int) -> None:  # pragma: no cover - child process
    code = 1
    try:
        os.close(read_fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        result = fn(chunk)
        if before_send is not None:
            result = before_send(result)
        import pickle

        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(data)
        code = 0
    except BaseException:  # the parent redoes this chunk; a child must never return to the caller
        code = 1
    finally:
        os._exit(code)


def _collect(pid: int, read_fd: int, fn: Callable[[T], R], chunk: T) -> R:
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    if _reap(pid, kill=False) and data:
        import pickle  # only with workers: not loaded by a one-file run

        try:
            return pickle.loads(data)  # noqa: S301 - written by our own child process
        except Exception:  # garbled: redo the chunk here
            return fn(chunk)
    return fn(chunk)


def _reap(pid: int, kill: bool) -> bool:
    """Wait for a child; True when it exited with status 0."""
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # pragma: no cover - reaped elsewhere
        return False
    return os.waitstatus_to_exitcode(status) == 0
