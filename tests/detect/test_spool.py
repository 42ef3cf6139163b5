"""`opsctl detect spool`: see what waits, and take notifications out only on purpose, exported first."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from opsctl.detect import spool
from opsctl.detect.config import load_config
from tests.conftest import run_opsctl
from tests.detect.helpers import T0, config, run, write_series
from tests.detect.servers import free_port


def _spooled(tmp_path: Path) -> Path:
    """A config whose receiver was down for two alerts, then removed from the config."""
    down = f'    hook: {{type: webhook, url: "http://127.0.0.1:{free_port()}/hook"}}\n'
    cfg = config(tmp_path, down)
    write_series(tmp_path / "series.csv", {"a": True, "b": True})
    rep = run(cfg)
    assert rep.counts["spool_pending"] == 2
    lc = load_config(cfg)
    assert [(e.receiver, e.configured) for e in spool.entries(lc)] == [("hook", True), ("hook", True)]
    # the receiver is replaced: its notifications can no longer go anywhere
    return config(tmp_path, f'    other: {{type: webhook, url: "http://127.0.0.1:{free_port()}/other"}}\n')


def _spool_rows(tmp_path: Path) -> int:
    return int(sqlite3.connect(tmp_path / "state.db").execute("SELECT count(*) FROM spool").fetchone()[0])


def test_a_removed_receiver_is_named_and_its_entries_can_be_exported_and_dropped(tmp_path: Path) -> None:
    cfg = _spooled(tmp_path)
    rep = run(cfg, T0 + timedelta(minutes=5))
    failed = [d for d in rep.deliveries if d["receiver"] == "hook"]
    assert rep.exit_code == 1 and "--drop-unconfigured" in failed[0]["error"]

    listed = run_opsctl("detect", "spool", "-c", str(cfg), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert [e["configured"] for e in doc["entries"] if e["receiver"] == "hook"] == [False, False]

    refused = run_opsctl("detect", "spool", "-c", str(cfg), "--drop-unconfigured")
    assert refused.returncode == 2 and "--export" in refused.stderr and _spool_rows(tmp_path) == len(doc["entries"])

    out = tmp_path / "dropped.jsonl"
    dropped = run_opsctl("detect", "spool", "-c", str(cfg), "--drop-unconfigured", "--export", str(out))
    assert dropped.returncode == 0, dropped.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["receiver"] for x in lines] == ["hook", "hook"]
    assert sorted(x["payload"]["labels"]["host"] for x in lines) == ["a", "b"]  # nothing lost
    assert all(e["receiver"] != "hook" for e in spool.entries(load_config(cfg)))
    history = json.loads(run_opsctl("detect", "history", "-c", str(cfg), "--format", "json").stdout)
    assert sum(1 for d in history["deliveries"] if d["error"] == spool.DROP_REASON) == 2

    again = run_opsctl("detect", "spool", "-c", str(cfg), "--drop-unconfigured", "--export", str(out))
    assert again.returncode == 2 and "exists" in again.stderr  # never overwrites an export


def test_drop_by_id_and_unknown_ids(tmp_path: Path) -> None:
    cfg = _spooled(tmp_path)
    lc = load_config(cfg)
    first, second = spool.entries(lc)
    bad = run_opsctl("detect", "spool", "-c", str(cfg), "--drop", "999", "--export", str(tmp_path / "x.jsonl"))
    assert bad.returncode == 2 and "no spool entry 999" in bad.stderr
    assert not (tmp_path / "x.jsonl").exists() and _spool_rows(tmp_path) == 2
    ok = run_opsctl("detect", "spool", "-c", str(cfg), "--drop", str(second.id), "--export", str(tmp_path / "y.jsonl"))
    assert ok.returncode == 0, ok.stderr
    assert [e.id for e in spool.entries(lc)] == [first.id]


def test_export_without_drop_keeps_everything(tmp_path: Path) -> None:
    cfg = _spooled(tmp_path)
    out = tmp_path / "all.jsonl"
    proc = run_opsctl("detect", "spool", "-c", str(cfg), "--export", str(out))
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 2 and _spool_rows(tmp_path) == 2


def test_never_races_a_run(tmp_path: Path) -> None:
    cfg = _spooled(tmp_path)
    lock = load_config(cfg).lock_path
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress
        proc = run_opsctl("detect", "spool", "-c", str(cfg), "--drop-unconfigured", "--export",
                          str(tmp_path / "z.jsonl"))
    finally:
        os.close(fd)
    assert proc.returncode == 1 and "lock" in proc.stderr
    assert _spool_rows(tmp_path) == 2 and not (tmp_path / "z.jsonl").exists()


def test_no_state_file_yet(tmp_path: Path) -> None:
    cfg = config(tmp_path, '    hook: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    proc = run_opsctl("detect", "spool", "-c", str(cfg), "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["entries"] == []
