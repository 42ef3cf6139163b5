"""Cron-friendly output (issue 13 point 7): `run --quiet`, `run --exit-code new`, `history` times with
their zone and whole rows when piped, `list --format json` without PydanticUndefined."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.detect.helpers import cli, config, write_series
from tests.detect.servers import Capture


def _setup(tmp_path: Path, capture: Capture, spike: bool = True) -> Path:
    write_series(tmp_path / "series.csv", {"a": spike, "b": False})
    receivers = (f"    hook: {{type: webhook, url: '{capture.url}/hook'}}\n"
                 f"    am: {{type: alertmanager, url: '{capture.url}'}}")
    return config(tmp_path, receivers)


def test_quiet_prints_only_news_and_exit_code_new_tells_them_apart(tmp_path: Path, capture: Capture) -> None:
    cfg = _setup(tmp_path, capture)
    code, out = cli("run", "--config", str(cfg), "--quiet", "--exit-code", "new")
    assert code == 1 and "notify firing cpu-outlier" in out  # a new problem: said, and exit 1
    sent = len(capture.requests)
    assert sent == 2
    # still firing, already notified: nothing printed (the Alertmanager refresh is no news); exit codes
    code, out = cli("run", "--config", str(cfg), "--quiet", "--exit-code", "new")
    assert (code, out) == (0, "")
    assert len(capture.requests) == sent + 1  # the refresh did go to Alertmanager
    code, out = cli("run", "--config", str(cfg), "--quiet")
    assert (code, out) == (1, "")  # default: 1 while a problem persists (unchanged)
    code, out = cli("run", "--config", str(cfg))
    assert code == 1 and "1 deduplicated" in out  # without --quiet the usual report
    # a failing delivery is news again, whatever is firing
    capture.fail_next(10, 500)
    code, out = cli("run", "--config", str(cfg), "--quiet", "--exit-code", "new")
    assert code == 1 and "delivery to am failed" in out
    # the problem clears: the resolved notification is printed; nothing new is wrong, so exit 0 with `new`
    capture._fail.clear()
    write_series(tmp_path / "series.csv", {"a": False, "b": False})
    code, out = cli("run", "--config", str(cfg), "--quiet", "--exit-code", "new")
    assert code == 0 and "notify resolved cpu-outlier" in out
    code, out = cli("run", "--config", str(cfg), "--quiet", "--exit-code", "new")
    assert (code, out) == (0, "")


def test_json_report_says_new_problems_and_noteworthy(tmp_path: Path, capture: Capture) -> None:
    cfg = _setup(tmp_path, capture)
    doc = json.loads(cli("run", "--config", str(cfg), "--format", "json")[1])
    assert doc["new_problems"] == 1 and doc["noteworthy"] is True
    doc = json.loads(cli("run", "--config", str(cfg), "--format", "json")[1])
    assert doc["new_problems"] == 0 and doc["noteworthy"] is False and doc["exit_code"] == 1


def test_exit_code_value_is_checked(tmp_path: Path, capture: Capture) -> None:
    import pytest

    from opsctl.errors import InputError

    cfg = _setup(tmp_path, capture)
    with pytest.raises(InputError, match="--exit-code"):
        cli("run", "--config", str(cfg), "--exit-code", "sometimes")


def test_history_times_have_their_zone_and_rows_are_whole_when_piped(tmp_path: Path, capture: Capture) -> None:
    cfg = _setup(tmp_path, capture)
    write_series(tmp_path / "series.csv", {"host-with-a-long-name-" * 8: True})  # a message of 300 characters
    cli("run", "--config", str(cfg))
    code, out = cli("history", "--config", str(cfg))  # CliRunner output is not a terminal
    assert code == 0
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", out)
    row = next(line for line in out.splitlines() if "cpu-outlier" in line and "outlier in" in line)
    assert row.rstrip().endswith("│")  # one line per row: nothing wrapped or cut
    assert len(row) > 200  # wider than the 200 columns a piped console had (and the 80 of a default one)
    assert "…" not in out
    hist = json.loads(cli("history", "--config", str(cfg), "--format", "json")[1])
    message = hist["firing"][0]["message"]
    assert message in out  # the whole message, however long, on the row


def test_list_json_has_no_pydantic_undefined() -> None:
    code, out = cli("list", "--format", "json")
    assert code == 0 and "PydanticUndefined" not in out
    doc = json.loads(out)
    hook = next(i for i in doc["items"] if i["id"] == "webhook")
    assert hook["params"]["headers"]["default"] == {}
