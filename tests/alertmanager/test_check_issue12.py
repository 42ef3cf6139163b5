"""`alertmanager check` reports only the real error, not consequences of it (issue 12 point 15): a route, URL
or smarthost with a bad value is not also "missing". Oracle: amtool 0.25 `check-config` names the same one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from opsctl.alertmanager.check import check_file, check_text
from tests.conftest import find_tool

REPRO = Path(__file__).parent / "fixtures" / "issue12"
CASES = {
    "r7a_zero_group_interval.yml": (3, "group_interval cannot be zero"),
    "r7b_webhook_ftp.yml": (6, 'unsupported scheme "ftp" for URL'),
    "r7c_slack_url_no_host.yml": (6, "missing host for URL"),
    "r7d_smarthost_no_port.yml": (2, "address localhost: missing port in address"),
}

AM025 = (0, 25)  # amtool/alertmanager 0.25 are the oracle here


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_the_real_error(name: str) -> None:
    line, message = CASES[name]
    res = check_file(REPRO / name, version=AM025)
    assert [(e.line, e.message) for e in res.errors] == [(line, message)]


def _messages(text: str) -> list[str]:
    return [e.message for e in check_text(text, version=AM025).errors]


def test_missing_things_are_still_reported() -> None:
    """The suppression is only for values with an error of their own."""
    assert _messages("receivers: [{name: a}]\n") == ["no route provided in config"]
    rec = "route: {receiver: a}\nreceivers:\n- name: a\n"
    assert _messages(rec + "  webhook_configs: [{send_resolved: true}]\n") == ["missing URL in webhook config"]
    assert _messages(rec + "  slack_configs: [{channel: x}]\n") == [
        "no global Slack API URL set either inline or in a file"]
    assert _messages("global: {smtp_from: a@b.c}\n" + rec + "  email_configs: [{to: x@y.z}]\n") == [
        "no global SMTP smarthost set"]
    (msg,) = _messages("route: {receiver: [a]}\nreceivers: [{name: a}]\n")
    assert "cannot unmarshal !!seq into string" in msg


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_error_as_amtool(name: str) -> None:
    r = subprocess.run([find_tool("amtool"), "check-config", str(REPRO / name)], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"FAILED: (.*)", r.stdout + r.stderr)
    assert r.returncode != 0 and m is not None
    (err,) = check_file(REPRO / name, version=AM025).errors
    assert err.message == m.group(1).strip()
