"""Looking into the spool, and taking notifications out of it on purpose.

A spooled notification stays until its receiver accepts it. When a receiver is removed from the config, or
an operator decides a queued notification must not go out, `drop()` takes entries out - but only after
writing them, payload and all, to an export file (JSON lines, created exclusively and synced), and it
records each one in the delivery history as dropped. It holds the run lock, so it never races a cron run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.detect.config import LoadedConfig
from opsctl.detect.engine import run_lock
from opsctl.detect.state import State
from opsctl.errors import InputError
from opsctl.secrets import redact_obj

DROP_REASON = "dropped from the spool by an operator (opsctl detect spool)"


@dataclass
class SpoolEntry:
    id: int
    created: float
    receiver: str
    fingerprint: str
    action: str
    attempts: int
    last_error: str | None
    configured: bool  # is the receiver still in the config?
    payload: dict[str, Any]

    def to_dict(self, with_payload: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "created": self.created, "receiver": self.receiver, "fingerprint": self.fingerprint,
            "action": self.action, "attempts": self.attempts, "last_error": self.last_error,
            "configured": self.configured,
        }
        if with_payload:
            out["payload"] = self.payload
        redacted: dict[str, Any] = redact_obj(out)
        return redacted


def _entries(state: State, receivers: Iterable[str]) -> list[SpoolEntry]:
    known = set(receivers)
    return [SpoolEntry(row["id"], row["created"], row["receiver"], row["fingerprint"], row["action"],
                       row["attempts"], row["last_error"], row["receiver"] in known, json.loads(row["payload"]))
            for row in state.spool_pending()]


def entries(lc: LoadedConfig) -> list[SpoolEntry]:
    """What is waiting in the spool, oldest first (empty when there is no state file yet)."""
    if not lc.state_path.exists():
        return []
    state = State(lc.state_path, readonly=True)
    try:
        return _entries(state, lc.config.alerting.receivers)
    finally:
        state.close()


def export(items: list[SpoolEntry], path: Path) -> None:
    """Write entries as JSON lines to a new file (never overwrites, mode 0600), flushed to disk before
    returning."""
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # whole notifications: private
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item.to_dict(with_payload=True), sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except FileExistsError:
        raise InputError("file exists: the export never overwrites a file", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot write the export: {exc.strerror or exc}", str(path)) from None


def drop(lc: LoadedConfig, ids: set[int], unconfigured: bool, export_to: Path, now: float) -> list[SpoolEntry]:
    """Take the entries with these ids (and, with `unconfigured`, those of receivers no longer in the config)
    out of the spool, after writing them to `export_to`. Unknown ids are an InputError; LockedError when a
    run holds the lock."""
    if not lc.state_path.exists():
        if ids:
            raise InputError(f"no spool entry {min(ids)}: there is no state file yet", str(lc.state_path))
        export([], export_to)
        return []
    with run_lock(lc.lock_path):
        state = State(lc.state_path)
        try:
            pending = _entries(state, lc.config.alerting.receivers)
            missing = ids - {e.id for e in pending}
            if missing:
                raise InputError(f"no spool entry {', '.join(map(str, sorted(missing)))} (see `opsctl detect "
                                 "spool`)", "--drop")
            chosen = [e for e in pending if e.id in ids or (unconfigured and not e.configured)]
            export(chosen, export_to)
            state.spool_drop([e.id for e in chosen], now, DROP_REASON)
            return chosen
        finally:
            state.close()
