"""Progress bars for long commands, on a terminal only.

Libraries never draw anything: they take an optional `progress(done, total=None)` callback (`done`:
steps finished since the last call; `total`: the number of steps, once known) and call it as they go.
The CLI passes the callback from `progress_bar(...)`, which draws a transient rich bar on standard error
only when that is a terminal, the output is not JSON (or another machine format), `--quiet` was not given
and `TERM` is not `dumb`. The bar appears only once the job has run for `delay` seconds, so quick runs
print nothing extra; it is erased when the job ends.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Progress = Callable[..., None]  # progress(done: int = 1, total: int | None = None)


def wanted(*, machine_output: bool = False, quiet: bool = False) -> bool:
    """Whether a bar may be drawn: stderr is a terminal, human output, not quiet, not a dumb terminal."""
    if machine_output or quiet or os.environ.get("TERM") == "dumb" or os.environ.get("OPSCTL_NO_PROGRESS"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Bar:
    def __init__(self, description: str, total: int | None, delay: float) -> None:
        self.description = description
        self.total = total
        self.delay = delay
        self.started = time.monotonic()
        self.done = 0
        self.live: Any = None
        self.task: Any = None

    def __call__(self, done: int = 1, total: int | None = None) -> None:
        self.done += done
        if total is not None:
            self.total = total
        if self.live is None:
            if time.monotonic() - self.started < self.delay:
                return
            self._start()
        self.live.update(self.task, completed=self.done, total=self.total)

    def _start(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from opsctl.cli.output import console

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        self.live = Progress(*columns, console=console(stderr=True), transient=True)
        self.live.start()
        self.task = self.live.add_task(self.description, total=self.total, completed=self.done)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def _ignore(done: int = 1, total: int | None = None) -> None:
    return None


@contextmanager
def progress_bar(description: str, total: int | None, *, enabled: bool,
                 delay: float | None = None) -> Iterator[Progress]:
    """A `progress(done)` callback for a library; draws only when `enabled` (see `wanted`), after `delay`
    seconds (default 1, or OPSCTL_PROGRESS_DELAY)."""
    if delay is None:
        try:
            delay = float(os.environ.get("OPSCTL_PROGRESS_DELAY", "1"))
        except ValueError:
            delay = 1.0
    if not enabled:
        yield _ignore
        return
    bar = _Bar(description, total, delay)
    try:
        yield bar
    finally:
        bar.close()
