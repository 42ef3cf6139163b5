"""`--alertmanager-version` (issue 12 points 14 and 16): config fields and checks of Alertmanager 0.25..0.35, and
negative days_of_month in DST months (0.25's month length vs the later calendar one).

Oracles: Alertmanager v0.34's own config tests (../shared/data/alertmanager/v0.34: config_test.go states which
testdata file loads and the exact error of those that do not), amtool 0.25 for the 0.25 verdicts, and
`amtool-0.35` when installed (CI)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.check import check_file, check_text
from opsctl.alertmanager.config import DEFAULT_VERSION, load_config, parse_version
from opsctl.alertmanager.inhibit import holds
from opsctl.errors import InputError
from tests.conftest import find_tool, run_opsctl

REPRO = Path(__file__).parent / "fixtures" / "issue12"


def _expectations(go_test: str) -> dict[str, str | None]:
    """testdata file -> None (must load) or the error text config_test.go expects (first LoadFile of a file)."""
    out: dict[str, str | None] = {}
    for m in re.finditer(r'LoadFile\("testdata/([^"]+)"\)\n(.*?)(?=\nfunc |\Z)', go_test, re.S):
        name, body = m.group(1), m.group(2)
        if name in out:
            continue
        head = body.lstrip()
        if head.startswith("if err != nil"):
            out[name] = None
        elif head.startswith("if err == nil"):
            e = re.search(r'err\.Error\(\) != "([^"]*)"', body) or re.search(r"expectedErr = `([^`]*)`", body)
            out[name] = e.group(1) if e else ""
    return out


def _v034(shared: Path) -> tuple[Path, dict[str, str | None]]:
    base = shared / "alertmanager" / "v0.34"
    return base / "config-testdata", _expectations((base / "config_test.go").read_text())


def test_v034_config_tests(shared_data: Path) -> None:
    """Every testdata file config_test.go of v0.34 loads: same verdict; a failing one: the same error first."""
    testdata, expected = _v034(shared_data)
    assert len(expected) >= 35
    problems = []
    for name, want in sorted(expected.items()):
        res = check_file(testdata / name, check_templates=False, version=(0, 34))
        if want is None:
            if not res.ok:
                problems.append((name, "should load", [str(e) for e in res.errors]))
        elif res.ok:
            problems.append((name, "should fail with", want))
        elif want and "\n" not in want and res.errors[0].message != want:
            problems.append((name, want, [e.message for e in res.errors]))
    assert not problems


def test_new_fields_are_unknown_to_025(shared_data: Path) -> None:
    """What v0.34 accepts through newer fields, 0.25 rejects as unknown fields (as amtool 0.25 does)."""
    testdata, expected = _v034(shared_data)
    for name in ("conf.slack-default-app-token.yml", "conf.rocketchat-default-token.yml",
                 "conf.mattermost-default-webhook-url.yml", "conf.telegram-default-bot-token.yml",
                 "conf.wechat-default-api-secret-file.yml", "conf.smtp-password-global-and-local.yml"):
        assert expected[name] is None
        res = check_file(testdata / name, check_templates=False, version=(0, 25))
        assert not res.ok and any("not found in type" in e.message for e in res.errors), name


@pytest.mark.oracle
def test_new_fields_rejected_by_amtool_025(shared_data: Path) -> None:
    testdata, _ = _v034(shared_data)
    amtool = find_tool("amtool")
    for name in ("conf.slack-default-app-token.yml", "conf.rocketchat-default-token.yml",
                 "conf.mattermost-default-webhook-url.yml"):
        r = subprocess.run([amtool, "check-config", str(testdata / name)], capture_output=True, timeout=60)
        assert r.returncode != 0
        assert not check_file(testdata / name, check_templates=False, version=(0, 25)).ok


RECEIVERS = {  # receiver added after 0.25 -> (first version, a minimal valid entry)
    "msteams": ("0.26", "webhook_url: 'https://example.org/hook'"),
    "msteamsv2": ("0.28", "webhook_url: 'https://example.org/hook'"),
    "rocketchat": ("0.28", "{channel: '#x', token: t, token_id: i}"),
    "jira": ("0.28", "{api_url: 'https://jira.example.org', project: P, issue_type: Bug}"),
    "mattermost": ("0.30", "webhook_url: 'https://mm.example.org/hooks/x'"),
}


@pytest.mark.parametrize("kind", sorted(RECEIVERS))
def test_receivers_gated_by_version(kind: str) -> None:
    since, entry = RECEIVERS[kind]
    body = entry if entry.startswith("{") else "{" + entry + "}"
    text = f"route: {{receiver: a}}\nreceivers:\n- name: a\n  {kind}_configs: [{body}]\n"
    minor = int(since.split(".")[1])
    assert check_text(text, version=(0, minor)).ok
    assert check_text(text, version=parse_version(DEFAULT_VERSION)).ok
    res = check_text(text, version=(0, minor - 1))
    assert [e.message for e in res.errors] == [f"field {kind}_configs not found in type config.plain"]


def test_receiver_checks_of_new_receivers() -> None:
    def msgs(entry: str, kind: str) -> list[str]:
        text = f"route: {{receiver: a}}\nreceivers:\n- name: a\n  {kind}_configs: [{entry}]\n"
        return [e.message for e in check_text(text).errors]

    assert msgs("{title: x}", "msteams") == ["one of webhook_url or webhook_url_file must be configured"]
    assert msgs("{webhook_url: 'https://h/x', webhook_url_file: f}", "msteamsv2") == [
        "at most one of webhook_url & webhook_url_file must be configured"]
    assert msgs("{api_url: 'https://j', issue_type: Bug}", "jira") == ["missing project in jira_config"]
    assert msgs("{project: P, issue_type: Bug}", "jira") == ["no global Jira Cloud URL set"]
    assert msgs("{channel: c, token: t}", "rocketchat") == [
        "no global Rocketchat TokenID set either inline or in a file"]


def test_parse_version() -> None:
    assert parse_version("0.27") == (0, 27) and parse_version("v0.27.1") == (0, 27)
    assert parse_version(None) == (0, 35) == parse_version(DEFAULT_VERSION)
    for bad in ("0.24", "1.0", "x", "0.36", "0.27.x", ""):
        with pytest.raises(InputError):
            parse_version(bad)


def test_cli_version_flag() -> None:
    f = str(REPRO.parent / "valid-webhook.yml")
    assert run_opsctl("alertmanager", "check", "--alertmanager-version", "0.25", f).returncode == 0
    doc = json.loads(run_opsctl("alertmanager", "check", "--alertmanager-version", "v0.27.1", f, "-f", "json").stdout)
    assert doc["alertmanager_version"] == "0.27" and doc["valid"] is True
    assert json.loads(run_opsctl("alertmanager", "check", f, "-f", "json").stdout)["alertmanager_version"] == "0.35"
    r = run_opsctl("alertmanager", "check", "--alertmanager-version", "0.9", f)
    assert r.returncode == 2 and "unsupported Alertmanager version" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.oracle
def test_same_verdicts_as_amtool_035(shared_data: Path) -> None:
    """amtool 0.35 (built by the coordinator, on PATH in CI) on the v0.34 test data and the reproducers."""
    amtool = find_tool("amtool-0.35")
    testdata, _ = _v034(shared_data)
    files = sorted(testdata.glob("*.yml")) + sorted(REPRO.glob("r7*.yml"))
    mismatches = []
    for path in files:
        r = subprocess.run([amtool, "check-config", str(path)], capture_output=True, timeout=60)
        ours = check_file(path, check_templates=False, version=(0, 35)).ok
        if ours != (r.returncode == 0):
            mismatches.append(path.name)
    assert not mismatches


# --- point 14: negative days_of_month in a month with a DST change --------------------------------------

@pytest.mark.parametrize(("version", "day", "expected"), [
    ((0, 25), 30, True), ((0, 25), 31, False),  # 0.25: March 2024 in Berlin has 743 h -> "30 days"
    ((0, 34), 30, True), ((0, 34), 31, False),
    ((0, 35), 30, False), ((0, 35), 31, True),  # calendar length (upstream fix)
])
def test_r6_last_day_of_month_dst(version: tuple[int, int], day: int, expected: bool) -> None:
    cfg = load_config(REPRO / "r6_dst.yml", version=version)
    at = datetime(2024, 3, day, 10, 0, tzinfo=UTC)
    assert holds(cfg, "last-day", at) is expected


def test_dst_month_lengths() -> None:
    """Fall-back months (745 h) keep their length in both behaviours; months without DST are unchanged."""
    for version in ((0, 25), (0, 35)):
        cfg = load_config(REPRO / "r6_dst.yml", version=version)
        assert holds(cfg, "last-day", datetime(2024, 10, 31, 10, tzinfo=UTC))
        assert holds(cfg, "last-day", datetime(2024, 5, 31, 10, tzinfo=UTC))
        assert not holds(cfg, "last-day", datetime(2024, 5, 30, 10, tzinfo=UTC))


def test_cli_mute_follows_version() -> None:
    args = ["alertmanager", "mute", str(REPRO / "r6_dst.yml"), "--alert", "team=x", "--at", "2024-03-31T10:00:00Z",
            "--format", "json"]
    new = json.loads(run_opsctl(*args).stdout)
    old = json.loads(run_opsctl(*args, "--alertmanager-version", "0.25").stdout)
    assert new["time_intervals"] == {"last-day": True}
    assert old["time_intervals"] == {"last-day": False}


FIELDS = {  # receiver entry using a field added after 0.25 -> (the field, first version)
    "webhook_configs: [{url_file: /x}]": ("url_file", "0.26"),
    "pushover_configs: [{user_key_file: /x, token: t}]": ("user_key_file", "0.26"),
    "pushover_configs: [{user_key: u, token_file: /x, device: '{{ .Status }}'}]": ("token_file", "0.26"),
    "telegram_configs: [{bot_token_file: /x, chat_id: 1}]": ("bot_token_file", "0.26"),
    "discord_configs: [{webhook_url_file: /x}]": ("webhook_url_file", "0.28"),
    "discord_configs: [{webhook_url: 'http://h/', content: '{{ .Status }}', username: u}]": ("content", "0.28"),
    "webhook_configs: [{url: 'http://h/', timeout: 10s}]": ("timeout", "0.28"),
    "pushover_configs: [{user_key: u, token: t, ttl: 1h}]": ("ttl", "0.27"),
    "email_configs: [{to: a@b, smarthost: 'h:25', from: a@b, auth_secret_file: /x}]": ("auth_secret_file", "0.34"),
}


def _with(entry: str) -> str:
    return f"route: {{receiver: a}}\nreceivers:\n- name: a\n  {entry}\n"


@pytest.mark.parametrize("entry", sorted(FIELDS))
def test_fields_gated_by_version(entry: str) -> None:
    field, since = FIELDS[entry]
    minor = int(since.split(".")[1])
    assert check_text(_with(entry), version=(0, minor)).ok
    res = check_text(_with(entry), version=(0, minor - 1))
    assert any(e.message == f"field {field} not found in type config.plain" for e in res.errors)


@pytest.mark.oracle
def test_fields_after_025_rejected_by_amtool_025(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    for i, entry in enumerate(sorted(FIELDS)):
        f = tmp_path / f"f{i}.yml"
        f.write_text(_with(entry))
        r = subprocess.run([amtool, "check-config", str(f)], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "not found in type" in r.stdout + r.stderr, entry


def test_messages_follow_version() -> None:
    def msgs(entry: str, version: tuple[int, int]) -> list[str]:
        return [e.message for e in check_text(_with(entry), version=version).errors]

    assert msgs("webhook_configs: [{send_resolved: true}]", (0, 25)) == ["missing URL in webhook config"]
    assert msgs("webhook_configs: [{send_resolved: true}]", (0, 26)) == ["one of url or url_file must be configured"]
    assert msgs("webhook_configs: [{url: 'http://h/', url_file: /x}]", (0, 35)) == [
        "at most one of url & url_file must be configured"]
    assert msgs("discord_configs: [{title: x}]", (0, 25)) == ["no discord webhook URL provided"]
    assert msgs("discord_configs: [{title: x}]", (0, 28)) == [
        "one of webhook_url or webhook_url_file must be configured"]
    assert msgs("pushover_configs: [{token: t}]", (0, 25)) == ["missing user key in Pushover config"]
    assert msgs("pushover_configs: [{token: t}]", (0, 26)) == ["one of user_key or user_key_file must be configured"]
    assert msgs("telegram_configs: [{chat_id: 1}]", (0, 25)) == ["missing bot_token on telegram_config"]
    assert msgs("telegram_configs: [{chat_id: 1}]", (0, 30)) == [
        "missing bot_token or bot_token_file on telegram_config"]


@settings(max_examples=300, deadline=None)
@given(year=st.integers(min_value=1971, max_value=2037), month=st.integers(min_value=1, max_value=12),
       zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
                             "America/Santiago", "Pacific/Apia", "Europe/London"]))
def test_legacy_month_length_property(year: int, month: int, zone: str) -> None:
    """0.25's month length is the calendar length or one less; one less only with a DST change in the month
    (never in UTC or India), and in Berlin exactly in March (EU rules since 1981)."""
    import calendar
    from zoneinfo import ZoneInfo

    from opsctl.alertmanager.timeinterval import _legacy_days_in_month

    days = calendar.monthrange(year, month)[1]
    legacy = _legacy_days_in_month(datetime(year, month, 15, 12, tzinfo=ZoneInfo(zone)))
    assert legacy in (days, days - 1)
    if zone in ("UTC", "Asia/Kolkata"):
        assert legacy == days
    if zone == "Europe/Berlin" and year >= 1981:
        assert legacy == (days - 1 if month == 3 else days)


def test_fields_of_0_34_and_later_server_configs() -> None:
    """What a 0.35 server shows as its loaded config (/api/v2/status) has route and receiver labels and a
    global smtp_tls_config: read for 0.34+, unknown fields for 0.25 (as amtool 0.25 says)."""
    from opsctl.alertmanager.config import ConfigErrors, loads_config

    text = ("global:\n  smtp_tls_config:\n    insecure_skip_verify: false\nroute:\n  receiver: db\n"
            "  labels: {team: db}\nreceivers:\n- name: db\n  labels: {name: db}\n")
    loads_config(text, "x.yml", check_templates=False, version=parse_version("0.35"))
    with pytest.raises(ConfigErrors):
        loads_config(text, "x.yml", check_templates=False, version=parse_version("0.25"))
