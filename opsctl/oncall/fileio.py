"""Atomic file writes for generated schedules, calendars, reports and documents."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from opsctl.errors import InputError


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write via a temporary file in the same directory and rename over the target."""
    p = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
