"""The SQLite state file kept between cron runs: alert state, spool, history, sizes, runs.

Tables
- alerts(fingerprint PK, detector, status firing|resolved, severity, message, labels, first_seen,
  last_seen, last_notified, notified)                     -- what is known to be firing
- events(id, ts, fingerprint, detector, event, severity, message)   -- alert history
- spool(id, created, receiver, fingerprint, action, payload, attempts, last_error)   -- to deliver
- deliveries(id, ts, receiver, fingerprint, action, ok, attempts, error)   -- delivery history
- remediations(id, ts, action, detector, fingerprint, ok, dry_run, attempts, output)
- sizes(key, ts, bytes); runs(id, started, finished, exit_code, summary)

Every change of a run is committed in SQLite transactions (journal on disk), so an interrupted run
leaves either the old or the new state; a notification is put in the spool in the same transaction
that marks the alert as notified, and leaves the spool only once a receiver accepted it.

The file (and SQLite's journal, which takes the database file's mode) is created 0600 and tightened to
0600 when found looser: the spool holds whole notifications. Every text that goes in (messages, payloads,
delivery errors, remediation output) and comes out (history) passes through opsctl.secrets.redact.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from opsctl.secrets import redact, redact_obj

FILE_MODE = 0o600

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
  fingerprint TEXT PRIMARY KEY, detector TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
  message TEXT NOT NULL, labels TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
  last_notified REAL, notified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, fingerprint TEXT NOT NULL, detector TEXT NOT NULL,
  event TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spool (
  id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, receiver TEXT NOT NULL,
  fingerprint TEXT NOT NULL, action TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, receiver TEXT NOT NULL, fingerprint TEXT NOT NULL,
  action TEXT NOT NULL, ok INTEGER NOT NULL, attempts INTEGER NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS remediations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, action TEXT NOT NULL, detector TEXT NOT NULL,
  fingerprint TEXT NOT NULL, ok INTEGER NOT NULL, dry_run INTEGER NOT NULL, attempts INTEGER NOT NULL,
  output TEXT);
CREATE TABLE IF NOT EXISTS sizes (key TEXT NOT NULL, ts REAL NOT NULL, bytes REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sizes_key_ts ON sizes(key, ts);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, exit_code INTEGER,
  summary TEXT);
CREATE TABLE IF NOT EXISTS acks (
  fingerprint TEXT PRIMARY KEY, detector TEXT NOT NULL, ts REAL NOT NULL, until REAL, author TEXT NOT NULL,
  comment TEXT NOT NULL);
"""


class State:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            private_file(path)
            self.db = sqlite3.connect(str(path), timeout=30)
            self.db.executescript(SCHEMA)
            self.db.commit()
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # -- alerts --------------------------------------------------------------------------------------
    def alert(self, fingerprint: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM alerts WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return row

    def firing(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM alerts WHERE status = 'firing' ORDER BY first_seen"))

    def upsert_alert(self, fp: str, detector: str, status: str, severity: str, message: str,
                     labels: dict[str, str], now: float, notified: bool | None = None) -> None:
        row = self.alert(fp)
        if row is None or (row["status"] == "resolved" and status == "firing"):
            self.db.execute(
                "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?)",
                (fp, detector, status, severity, redact(message), json.dumps(labels), now, now,
                 now if notified else None, 1 if notified else 0))
            return
        if notified:
            self.db.execute(
                "UPDATE alerts SET status=?, severity=?, message=?, labels=?, last_seen=?, last_notified=?, "
                "notified=1 WHERE fingerprint=?", (status, severity, redact(message), json.dumps(labels), now, now, fp))
        else:
            self.db.execute(
                "UPDATE alerts SET status=?, severity=?, message=?, labels=?, last_seen=? WHERE fingerprint=?",
                (status, severity, redact(message), json.dumps(labels), now, fp))

    def event(self, now: float, fp: str, detector: str, event: str, severity: str, message: str) -> None:
        self.db.execute("INSERT INTO events (ts, fingerprint, detector, event, severity, message) VALUES (?,?,?,?,?,?)",
                        (now, fp, detector, event, severity, redact(message)))

    # -- spool ---------------------------------------------------------------------------------------
    def spool_add(self, now: float, receiver: str, fp: str, action: str, payload: dict[str, Any],
                  coalesce: bool = False) -> None:
        if coalesce:  # a newer refresh supersedes a pending one for the same receiver and alert
            self.db.execute("DELETE FROM spool WHERE receiver=? AND fingerprint=? AND action='firing'", (receiver, fp))
        self.db.execute("INSERT INTO spool (created, receiver, fingerprint, action, payload) VALUES (?,?,?,?,?)",
                        (now, receiver, fp, action, json.dumps(redact_obj(payload))))

    def spool_pending(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM spool ORDER BY id"))

    def spool_done(self, row: sqlite3.Row, now: float, attempts: int) -> None:
        self.db.execute("DELETE FROM spool WHERE id=?", (row["id"],))
        self.db.execute("INSERT INTO deliveries (ts, receiver, fingerprint, action, ok, attempts, error) "
                        "VALUES (?,?,?,?,1,?,NULL)", (now, row["receiver"], row["fingerprint"], row["action"],
                                                      row["attempts"] + attempts))
        self.db.commit()

    def spool_failed(self, row: sqlite3.Row, now: float, attempts: int, error: str) -> None:
        error = redact(error)
        self.db.execute("UPDATE spool SET attempts = attempts + ?, last_error=? WHERE id=?",
                        (attempts, error, row["id"]))
        self.db.execute("INSERT INTO deliveries (ts, receiver, fingerprint, action, ok, attempts, error) "
                        "VALUES (?,?,?,?,0,?,?)", (now, row["receiver"], row["fingerprint"], row["action"],
                                                   attempts, error))
        self.db.commit()

    def spool_drop(self, ids: list[int], now: float, reason: str) -> None:
        """Remove spool rows on purpose, each recorded as an undelivered delivery with `reason`, atomically."""
        with self.db:
            for spool_id in ids:
                row = self.db.execute("SELECT * FROM spool WHERE id=?", (spool_id,)).fetchone()
                if row is None:
                    continue
                self.db.execute("DELETE FROM spool WHERE id=?", (spool_id,))
                self.db.execute("INSERT INTO deliveries (ts, receiver, fingerprint, action, ok, attempts, error) "
                                "VALUES (?,?,?,?,0,0,?)", (now, row["receiver"], row["fingerprint"], row["action"],
                                                           reason))

    # -- sizes, remediations, runs ------------------------------------------------------------------
    def size_since(self, key: str, since: float) -> tuple[float, float] | None:
        row = self.db.execute("SELECT ts, bytes FROM sizes WHERE key=? AND ts >= ? ORDER BY ts LIMIT 1",
                              (key, since)).fetchone()
        return (float(row[0]), float(row[1])) if row else None

    def record_size(self, key: str, now: float, size: float) -> None:
        self.db.execute("INSERT INTO sizes VALUES (?,?,?)", (key, now, size))
        self.db.execute("DELETE FROM sizes WHERE key=? AND ts < ?", (key, now - 90 * 86400))

    def remediation(self, now: float, action: str, detector: str, fp: str, ok: bool, dry_run: bool,
                    attempts: int, output: str) -> None:
        self.db.execute("INSERT INTO remediations (ts, action, detector, fingerprint, ok, dry_run, attempts, output) "
                        "VALUES (?,?,?,?,?,?,?,?)", (now, action, detector, fp, int(ok), int(dry_run), attempts,
                                                     redact(output)[:4000]))

    def run_started(self, now: float) -> int:
        cur = self.db.execute("INSERT INTO runs (started) VALUES (?)", (now,))
        self.db.commit()
        return int(cur.lastrowid or 0)

    def run_finished(self, run_id: int, now: float, code: int, summary: dict[str, Any]) -> None:
        self.db.execute("UPDATE runs SET finished=?, exit_code=?, summary=? WHERE id=?",
                        (now, code, json.dumps(summary), run_id))
        self.db.commit()

    def prune(self, before: float) -> None:
        """Drop history rows older than `before` (never the spool or firing alerts)."""
        for table in ("events", "deliveries", "remediations"):
            self.db.execute(f"DELETE FROM {table} WHERE ts < ?", (before,))
        self.db.execute("DELETE FROM runs WHERE started < ?", (before,))
        self.db.execute("DELETE FROM alerts WHERE status = 'resolved' AND last_seen < ?", (before,))

    def commit(self) -> None:
        self.db.commit()

    # -- acknowledgements (`opsctl detect ack`) ------------------------------------------------------
    def ack(self, now: float, fp: str, detector: str, until: float | None, author: str, comment: str) -> None:
        """Stop re-notifying `fp` until it resolves or `until` passes; recorded as an `acked` event."""
        self.db.execute("INSERT OR REPLACE INTO acks VALUES (?,?,?,?,?,?)",
                        (fp, detector, now, until, redact(author), redact(comment)))
        row = self.alert(fp)
        sev = row["severity"] if row is not None else ""
        shown = f"acked by {author}" + (f" until {until:.0f}" if until else " until resolved") + \
            (f": {comment}" if comment else "")
        self.event(now, fp, detector, "acked", sev, shown)

    def acked(self, fp: str, now: float) -> bool:
        try:
            row = self.db.execute("SELECT until FROM acks WHERE fingerprint = ?", (fp,)).fetchone()
        except sqlite3.OperationalError:  # a state file from before acks, opened read-only
            return False
        return row is not None and (row[0] is None or float(row[0]) > now)

    def ack_clear(self, fp: str) -> None:
        self.db.execute("DELETE FROM acks WHERE fingerprint = ?", (fp,))

    def acks(self) -> list[dict[str, Any]]:
        try:
            return [dict(r) for r in self.db.execute("SELECT * FROM acks ORDER BY ts")]
        except sqlite3.OperationalError:
            return []

    # -- history -------------------------------------------------------------------------------------
    def history(self, limit: int = 50, since: float | None = None) -> dict[str, list[dict[str, Any]]]:
        cond, args = ("WHERE ts >= ?", [since]) if since is not None else ("", [])
        out: dict[str, list[dict[str, Any]]] = {}
        for table in ("events", "deliveries", "remediations"):
            rows = self.db.execute(f"SELECT * FROM {table} {cond} ORDER BY id DESC LIMIT ?", (*args, limit))
            out[table] = [dict(r) for r in rows][::-1]
        out["spool"] = [dict(r) for r in self.db.execute(
            "SELECT id, created, receiver, fingerprint, action, attempts, last_error FROM spool ORDER BY id")]
        out["firing"] = [dict(r) for r in self.firing()]
        out["acks"] = self.acks()
        redacted: dict[str, list[dict[str, Any]]] = redact_obj(out)  # rows written by older versions too
        return redacted


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist; tighten it to 0600 if it is looser."""
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)
        return
    except FileExistsError:
        pass
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, FILE_MODE)
    except OSError:  # not ours to change (read-only mount, another owner): leave it
        pass
