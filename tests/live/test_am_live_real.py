"""`opsctl alertmanager alerts|silence|test-notify` against a real prometheus-alertmanager: what opsctl writes,
amtool reads back, and the reverse (amtool 0.25; amtool-0.35/alertmanager-0.35 in CI)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alertmanager.amserver import alertmanager, post_alerts
from tests.conftest import find_tool, run_opsctl

CONFIG = """
route:
  receiver: default
  group_wait: 1s
  routes:
    - matchers: [team="db"]
      receiver: db
receivers:
  - name: default
  - name: db
inhibit_rules:
  - source_matchers: [alertname="Outage"]
    target_matchers: [severity="warning"]
    equal: [team]
"""

PAIRS = [("prometheus-alertmanager", "amtool"), ("alertmanager-0.35", "amtool-0.35")]


@pytest.fixture(scope="module", params=PAIRS, ids=["0.25", "0.35"])
def am(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    binary, amtool = find_tool(request.param[0]), find_tool(request.param[1])
    tmp = tmp_path_factory.mktemp("am")
    cfg = tmp / "am.yml"
    cfg.write_text(CONFIG)
    with alertmanager(binary, cfg, tmp) as url:
        yield url, amtool


def opsctl(url: str, *args: str, env: dict[str, str] | None = None, home: Path | None = None
           ) -> subprocess.CompletedProcess[str]:
    e = {"OPSCTL_ALERTMANAGER_URL": url, "HOME": str(home or Path("/nonexistent-home")), **(env or {})}
    return run_opsctl("alertmanager", *args, env=e)


def amtool(am: tuple[str, str], *args: str) -> Any:
    url, binary = am
    r = subprocess.run([binary, f"--alertmanager.url={url}", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if "-o" in args or "--output=json" in args else r.stdout


def expire_all(url: str) -> None:
    for s in httpx.get(f"{url}/api/v2/silences", timeout=10).json():
        if s["status"]["state"] != "expired":
            httpx.delete(f"{url}/api/v2/silence/{s['id']}", timeout=10)


def _mset(ms: list[dict[str, Any]]) -> set[tuple[str, str, bool, bool]]:
    return {(m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in ms}


def test_opsctl_silence_read_back_by_amtool(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    r = opsctl(url, "silence", "add", "Disk Full", 'job=~"node|db.*"', "instance!=a\\\"b", 'path!~"/var/.+"',
               "--duration", "2h", "--author", "alice", "--comment", "maintenance, \"quoted\"")
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip()
    got = [s for s in amtool(am, "silence", "query", "-o", "json") if s["id"] == sid]
    assert len(got) == 1
    s = got[0]
    assert _mset(s["matchers"]) == {("alertname", "Disk Full", False, True), ("job", "node|db.*", True, True),
                                    ("instance", 'a"b', False, False), ("path", "/var/.+", True, False)}
    assert s["createdBy"] == "alice" and s["comment"] == 'maintenance, "quoted"'
    from opsctl.live.alertmanager import parse_time
    span = parse_time(s["endsAt"]) - parse_time(s["startsAt"])  # type: ignore[operator]
    assert 7190 < span <= 7200


def test_amtool_silence_read_back_by_opsctl(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    sid = amtool(am, "silence", "add", 'job=~"a|b"', "x!=y", "team=db", "-c", "from amtool", "-a", "bob",
                 "-d", "3h").strip()
    r = opsctl(url, "silence", "query", "-f", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    [s] = [s for s in doc["silences"] if s["id"] == sid]
    assert sorted(s["matchers"]) == sorted(['job=~"a|b"', 'x!="y"', 'team="db"'])
    assert s["created_by"] == "bob" and s["comment"] == "from amtool" and s["state"] == "active"
    # the filter means what amtool's does
    ids_opsctl = opsctl(url, "silence", "query", "-q", "team=db").stdout.split()
    ids_amtool = amtool(am, "silence", "query", "-q", "team=db").split()
    assert ids_opsctl == ids_amtool == [sid]
    assert opsctl(url, "silence", "query", "-q", "team=web").stdout.split() == \
        amtool(am, "silence", "query", "-q", "team=web").split() == []


def test_expire_by_id_and_by_filter(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    a = opsctl(url, "silence", "add", "A", "team=db", "--comment", "x").stdout.strip()
    b = opsctl(url, "silence", "add", "B", "team=db", "--comment", "x").stdout.strip()
    c = opsctl(url, "silence", "add", "C", "team=web", "--comment", "x").stdout.strip()
    r = opsctl(url, "silence", "expire", a)
    assert r.returncode == 0, r.stderr
    assert sorted(amtool(am, "silence", "query", "-q").split()) == sorted([b, c])
    assert a in amtool(am, "silence", "query", "--expired", "-q").split()
    dry = opsctl(url, "silence", "expire", "--filter", "team=db", "--dry-run")
    assert b in dry.stdout and "would expire" in dry.stdout
    assert sorted(amtool(am, "silence", "query", "-q").split()) == sorted([b, c])
    opsctl(url, "silence", "expire", "--filter", "team=db")
    assert amtool(am, "silence", "query", "-q").split() == [c]
    r = opsctl(url, "silence", "expire", "no-such-id")
    assert r.returncode == 2 and "no-such-id" in r.stderr and "Traceback" not in r.stderr


def test_export_import_round_trip_with_amtool(am: tuple[str, str], tmp_path: Path) -> None:
    url = am[0]
    expire_all(url)
    amtool(am, "silence", "add", 'svc=~"api|web"', "-c", "one", "-a", "bob", "-d", "1h")
    opsctl(url, "silence", "add", "Two", "env!=dev", "--comment", "two", "--author", "al")
    out = tmp_path / "export.json"
    assert opsctl(url, "silence", "export", "-o", str(out)).returncode == 0
    exported = json.loads(out.read_text())
    assert len(exported) == 2
    expire_all(url)
    r = subprocess.run([am[1], f"--alertmanager.url={url}", "silence", "import", str(out)], capture_output=True,
                       text=True, timeout=60)  # amtool reads opsctl's export
    assert r.returncode == 0, r.stderr
    back = amtool(am, "silence", "query", "-o", "json")
    assert sorted(map(repr, (sorted(_mset(s["matchers"])) for s in back))) == \
        sorted(map(repr, (sorted(_mset(s["matchers"])) for s in exported)))
    # and opsctl reads amtool's JSON
    am_json = tmp_path / "amtool.json"
    am_json.write_text(json.dumps(back))
    expire_all(url)
    r = opsctl(url, "silence", "import", str(am_json))
    assert r.returncode == 0, r.stderr
    again = amtool(am, "silence", "query", "-o", "json")
    assert {(s["comment"], s["createdBy"]) for s in again} == {("one", "bob"), ("two", "al")}


def test_import_bad_file_is_one_line(am: tuple[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"matchers": []}]')
    r = opsctl(am[0], "silence", "import", str(bad))
    assert r.returncode == 2 and str(bad) in r.stderr and len(r.stderr.strip().splitlines()) == 1


def _fire(url: str, *alerts: dict[str, str], ends: float | None = None) -> None:
    now = time.time()
    docs: list[dict[str, Any]] = []
    for ls in alerts:
        d: dict[str, Any] = {"labels": ls, "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))}
        if ends is not None:
            d["endsAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ends))
        docs.append(d)
    post_alerts(url, docs)


def _wait_processed(url: str, n: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = httpx.get(f"{url}/api/v2/alerts", timeout=10).json()
        if len(got) >= n and all(a["status"]["state"] != "unprocessed" for a in got):
            return
        time.sleep(0.2)
    raise AssertionError("alerts not processed")


def test_alert_query_states_agree_with_amtool(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    opsctl(url, "silence", "add", "Silenced", "--comment", "x")
    _fire(url, {"alertname": "Plain", "team": "web"}, {"alertname": "Silenced", "team": "web"},
          {"alertname": "Outage", "team": "db"}, {"alertname": "Warn", "severity": "warning", "team": "db"})
    _wait_processed(url, 4)
    time.sleep(1)
    for flags in ([], ["--silenced"], ["--inhibited"], ["--active", "--silenced", "--inhibited"]):
        r = opsctl(url, "alerts", "query", *flags, "-f", "json")
        assert r.returncode == 0, r.stderr
        mine = sorted(a["fingerprint"] for a in json.loads(r.stdout)["alerts"])
        theirs = sorted(a["fingerprint"] for a in amtool(am, "alert", "query", *[f[:4] if False else f
                                                                                  for f in flags], "-o", "json"))
        assert mine == theirs, flags
    assert {a["labels"]["alertname"] for a in json.loads(opsctl(url, "alerts", "query", "team=db", "--active",
            "--inhibited", "-f", "json").stdout)["alerts"]} == {"Outage", "Warn"}
    grouped = json.loads(opsctl(url, "alerts", "query", "--grouped", "-f", "json").stdout)["groups"]
    assert {g["receiver"] for g in grouped} == {"default", "db"}
    r = opsctl(url, "alerts", "query", "--receiver", "db")
    assert "Outage" in r.stdout and "Plain" not in r.stdout


def test_alerts_add_read_by_amtool(am: tuple[str, str]) -> None:
    url = am[0]
    r = opsctl(url, "alerts", "add", "Added", "team=ops", "--annotation", "summary=hello there",
               "--resolve-after", "10m")
    assert r.returncode == 0, r.stderr
    time.sleep(0.5)
    got = [a for a in amtool(am, "alert", "query", "-a", "-s", "-i", "-u", "-o", "json")
           if a["labels"].get("alertname") == "Added"]
    assert len(got) == 1 and got[0]["annotations"]["summary"] == "hello there"
    from opsctl.live.alertmanager import parse_time
    assert 590 < parse_time(got[0]["endsAt"]) - time.time() <= 600  # type: ignore[operator]


def test_test_notify_active_silenced_inhibited(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    r = opsctl(url, "test-notify", "ProbeA", "team=db", "--resolve", "-f", "json")
    assert r.returncode == 0, r.stderr
    [res] = json.loads(r.stdout)["results"]
    assert res["arrived"] and res["expected_receivers"] == ["db"] and res["receivers"] == ["db"]
    assert res["silenced_by"] == [] and res["resolved"]
    sid = opsctl(url, "silence", "add", "ProbeB", "--comment", "t").stdout.strip()
    r = opsctl(url, "test-notify", "ProbeB", "team=web", "-f", "json")
    [res] = json.loads(r.stdout)["results"]
    assert res["silenced_by"] == [sid] and res["expected_receivers"] == ["default"]
    _fire(url, {"alertname": "Outage", "team": "ops"})
    r = opsctl(url, "test-notify", "ProbeC", "team=ops", "severity=warning")
    assert r.returncode == 0 and "INHIBITED" in r.stdout, r.stdout


def test_silence_audit(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    _fire(url, {"alertname": "DbDown", "severity": "critical", "team": "db"}, {"alertname": "Slow", "team": "web"})
    _wait_processed(url, 2)
    nothing = opsctl(url, "silence", "add", "NoSuchAlert", "--comment", "x").stdout.strip()
    long = opsctl(url, "silence", "add", "Slow", "--duration", "30d", "--comment", "x").stdout.strip()
    crit = opsctl(url, "silence", "add", "DbDown", "--duration", "30m", "--comment", "x").stdout.strip()
    r = opsctl(url, "silence", "audit", "-f", "json")
    assert r.returncode == 1, r.stderr
    found = {(f["kind"], f["silence_id"]) for f in json.loads(r.stdout)["findings"]}
    assert found == {("matches-nothing", nothing), ("long-lived", long), ("mutes-critical", crit),
                     ("expiring-while-firing", crit)}
    expire_all(url)
    assert opsctl(url, "silence", "audit").returncode == 0


def test_silence_reap(am: tuple[str, str]) -> None:
    url = am[0]
    expire_all(url)
    _fire(url, {"alertname": "StillFiring"})
    gone = opsctl(url, "silence", "add", "Resolved", "--expire-on-resolve", "--comment", "x").stdout.strip()
    keep = opsctl(url, "silence", "add", "StillFiring", "--expire-on-resolve", "--comment", "x").stdout.strip()
    plain = opsctl(url, "silence", "add", "AlsoResolved", "--comment", "x").stdout.strip()
    assert opsctl(url, "silence", "reap").stdout == ""  # within the grace period
    r = opsctl(url, "silence", "reap", "--grace", "0s")
    assert r.returncode == 0 and gone in r.stdout
    assert sorted(amtool(am, "silence", "query", "-q").split()) == sorted([keep, plain])


def test_config_file_author_and_require_comment(am: tuple[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "amtool.yml"
    cfg.write_text(f"alertmanager.url: {am[0]}\nauthor: carol\ncomment_required: true\n")
    r = run_opsctl("alertmanager", "silence", "add", "X", "-c", str(cfg), env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and "comment" in r.stderr
    r = run_opsctl("alertmanager", "silence", "add", "X", "-c", str(cfg), "--comment", "why",
                   env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    [s] = [s for s in amtool(am, "silence", "query", "-o", "json") if s["id"] == r.stdout.strip()]
    assert s["createdBy"] == "carol"
    # amtool's default config location is read too
    (tmp_path / ".config" / "amtool").mkdir(parents=True)
    (tmp_path / ".config" / "amtool" / "config.yml").write_text(f"alertmanager.url: {am[0]}\nauthor: dave\n")
    r = run_opsctl("alertmanager", "silence", "add", "Y", env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr


def test_one_logical_silence_over_two_alertmanagers(tmp_path: Path) -> None:
    binary, tool = find_tool("prometheus-alertmanager"), find_tool("amtool")
    cfg = tmp_path / "am.yml"
    cfg.write_text(CONFIG)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with alertmanager(binary, cfg, tmp_path / "a") as a, alertmanager(binary, cfg, tmp_path / "b") as b:
        both = ["--alertmanager-url", a, "--alertmanager-url", b]
        r = run_opsctl("alertmanager", "silence", "add", "Maint", "--comment", "ha", *both, env={"HOME": str(tmp_path)})
        assert r.returncode == 0, r.stderr
        ids = r.stdout.split()
        assert len(ids) == 2
        for url, sid in zip((a, b), ids, strict=True):
            assert amtool((url, tool), "silence", "query", "-q").split() == [sid]
        q = json.loads(run_opsctl("alertmanager", "silence", "query", "-f", "json", *both,
                                  env={"HOME": str(tmp_path)}).stdout)
        assert len(q["silences"]) == 1 and len(q["silences"][0]["copies"]) == 2
        r = run_opsctl("alertmanager", "silence", "expire", ids[0], *both, env={"HOME": str(tmp_path)})
        assert r.returncode == 0, r.stderr
        for url in (a, b):
            assert amtool((url, tool), "silence", "query", "-q").split() == []


def test_path_prefix_and_one_line_errors(tmp_path: Path) -> None:
    from tests.servers import free_port, running

    binary = find_tool("prometheus-alertmanager")
    cfg = tmp_path / "am.yml"
    cfg.write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [binary, f"--config.file={cfg}", f"--storage.path={tmp_path}", f"--web.listen-address=127.0.0.1:{port}",
           "--cluster.listen-address=", f"--web.external-url={base}/alertmanager"]
    with running(cmd, f"{base}/alertmanager/-/ready", tmp_path / "am.log", timeout=30):
        env = {"HOME": str(tmp_path), "OPSCTL_ALERTMANAGER_TOKEN": "s3cr3t-token-value"}
        r = run_opsctl("alertmanager", "silence", "add", "P", "--comment", "x", "--alertmanager-url",
                       f"{base}/alertmanager/", env=env)
        assert r.returncode == 0, r.stderr
        r = run_opsctl("alertmanager", "silence", "query", "--alertmanager-url", base, env=env)
        assert r.returncode == 2
        assert "404" in r.stderr and "path prefix" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "s3cr3t" not in r.stderr + r.stdout
    down = f"http://127.0.0.1:{free_port()}"
    r = run_opsctl("alertmanager", "alerts", "query", "--alertmanager-url", down, "--timeout", "2s",
                   env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and "server down" in r.stderr and len(r.stderr.strip().splitlines()) == 1
