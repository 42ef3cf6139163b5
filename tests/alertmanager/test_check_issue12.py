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


@pytest.mark.parametrize("name", sorted(CASES))
def test_only_the_real_error(name: str) -> None:
    line, message = CASES[name]
    res = check_file(REPRO / name)
    assert [(e.line, e.message) for e in res.errors] == [(line, message)]


def test_missing_things_are_still_reported() -> None:
    """The suppression is only for values with an error of their own."""
    assert [e.message for e in check_text("receivers: [{name: a}]\n").errors] == ["no route provided in config"]
    res = check_text("route: {receiver: a}\nreceivers:\n- name: a\n  webhook_configs: [{send_resolved: true}]\n")
    assert [e.message for e in res.errors] == ["missing URL in webhook config"]
    res = check_text("route: {receiver: a}\nreceivers:\n- name: a\n  slack_configs: [{channel: x}]\n")
    assert [e.message for e in res.errors] == ["no global Slack API URL set either inline or in a file"]
    res = check_text("global: {smtp_from: a@b.c}\nroute: {receiver: a}\nreceivers:\n"
                     "- name: a\n  email_configs: [{to: x@y.z}]\n")
    assert [e.message for e in res.errors] == ["no global SMTP smarthost set"]
    res = check_text("route: {receiver: [a]}\nreceivers: [{name: a}]\n")
    assert len(res.errors) == 1 and "cannot unmarshal !!seq into string" in res.errors[0].message


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_error_as_amtool(name: str) -> None:
    r = subprocess.run([find_tool("amtool"), "check-config", str(REPRO / name)], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"FAILED: (.*)", r.stdout + r.stderr)
    assert r.returncode != 0 and m is not None
    (err,) = check_file(REPRO / name).errors
    assert err.message == m.group(1).strip()
