"""`opsctl rules backtest --prometheus URL --check-replay` against a real Prometheus (Debian 2.42) that
scrapes a small local exporter with changing values every second and evaluates the same rules every second:
the replay (pushdown: the server evaluates each expression, `for`/`keep_firing_for` applied by opsctl) must
find every firing the server really had (ALERTS), with the same labels, within two evaluation intervals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from opsctl.prom.client import PrometheusClient
from opsctl.rules.backtest_live import inline_recording_rules
from opsctl.rules.model import Rule
from tests.conftest import find_tool, run_opsctl
from tests.servers import free_port, running

RULES = """\
groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:demo_value:max
        expr: max by (job) (demo_value)
      - alert: ValueHigh
        expr: demo_value > 1
        for: 2s
        labels: {severity: page}
      - alert: ValueB
        expr: demo_value{kind="b"} >= 1
      - alert: RecordedHigh
        expr: job:demo_value:max > 1
      - alert: KeptFiring
        expr: demo_value{kind="a"} == 2
        keep_firing_for: 3s
      - alert: Gone
        expr: absent(demo_gone)
"""

# Not loaded by the server: its recording rule has no series there and is inlined by the replay.
INLINED = """\
groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:demo_value:max2
        expr: max by (job) (demo_value)
      - alert: RecordedHigh
        expr: job:demo_value:max2 > 1
"""

RUN_S = 50.0  # how long the server scrapes and evaluates
QUIET_S = 8.0  # values stay at 0 this long, so nothing is pending when the replay starts


class _Exporter(BaseHTTPRequestHandler):
    started = 0.0

    def do_GET(self) -> None:
        e = time.time() - self.started
        k = max(0.0, e - QUIET_S)
        a = 0 if e < QUIET_S else int(k // 5) % 3  # 0, 1, 2 for 5 s each
        b = 0 if e < QUIET_S else int(k // 6) % 2  # 0, 1 for 6 s each
        lines = ["# TYPE demo_value gauge", f'demo_value{{kind="a"}} {a}', f'demo_value{{kind="b"}} {b}']
        if not 20 <= e < 32:  # the series stops for 12 s: Prometheus marks it stale, absent() fires at once
            lines += ["# TYPE demo_gone gauge", "demo_gone 1"]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, float, float]]:
    prom = find_tool("prometheus")
    tmp = tmp_path_factory.mktemp("live")
    _Exporter.started = time.time()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rules = tmp / "rules.yml"
        rules.write_text(RULES)
        cfg = tmp / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                       f"rule_files: [{rules}]\n"
                       "scrape_configs:\n  - job_name: demo\n    static_configs:\n"
                       f"      - targets: ['127.0.0.1:{server.server_address[1]}']\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [prom, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]
        with running(cmd, f"{url}/-/ready", tmp / "prometheus.log"):
            start = _Exporter.started + QUIET_S / 2
            time.sleep(max(0.0, _Exporter.started + RUN_S - time.time()))
            yield url, tmp, start, time.time() - 1
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.oracle
@pytest.mark.slow
def test_check_replay_all_alike(live: tuple[str, Path, float, float]) -> None:
    url, tmp, start, end = live
    proc = run_opsctl("rules", "backtest", str(tmp / "rules.yml"), "--prometheus", url, "--from", f"{start:.3f}",
                      "--to", f"{end:.3f}", "--check-replay", "--format", "json")
    doc = json.loads(proc.stdout)
    check = doc["check_replay"]
    print("check-replay:", check["alike"], "of", check["firings"], json.dumps(check["rules"]))
    assert proc.returncode == 0, proc.stderr
    assert doc["backtest"]["live"]["modes"] == {n: "pushdown" for n in
                                                ("ValueHigh", "ValueB", "RecordedHigh", "KeptFiring", "Gone")}
    assert doc["backtest"]["live"]["inlined"] == {}  # the server recorded job:demo_value:max itself
    by = {r["alertname"]: r for r in check["rules"]}
    assert check["alike_ratio"] == 1.0 and check["firings"] >= 10
    for name in ("ValueHigh", "ValueB", "RecordedHigh", "KeptFiring", "Gone"):
        assert by[name]["alike"] >= 1, name
    alerts = {a["alertname"]: a for a in doc["backtest"]["alerts"]}
    # staleness: absent() fired as soon as the series stopped (20 s after the exporter started), not 5m later
    gone = [e["fired_at"] - _Exporter.started for e in alerts["Gone"]["episodes"]]
    print("Gone fired at", gone)
    assert any(20 <= t <= 23 for t in gone)
    assert all(e["labels"]["severity"] == "page" for e in alerts["ValueHigh"]["episodes"])


@pytest.mark.oracle
@pytest.mark.slow
def test_inlined_recording_rule_gives_the_recorded_firings(live: tuple[str, Path, float, float]) -> None:
    url, tmp, start, end = live
    (tmp / "inlined.yml").write_text(INLINED)
    common = ("--prometheus", url, "--from", f"{start:.3f}", "--to", f"{end:.3f}", "--format", "json")
    recorded = run_opsctl("rules", "backtest", str(tmp / "rules.yml"), *common)
    inlined = run_opsctl("rules", "backtest", str(tmp / "inlined.yml"), *common, "--check-replay")
    assert recorded.returncode == 0, recorded.stderr
    doc = json.loads(inlined.stdout)
    assert doc["backtest"]["live"]["inlined"] == {"RecordedHigh": ["job:demo_value:max2"]}
    assert doc["backtest"]["live"]["modes"] == {"RecordedHigh": "pushdown"}
    a = next(x for x in json.loads(recorded.stdout)["backtest"]["alerts"] if x["alertname"] == "RecordedHigh")
    b = doc["backtest"]["alerts"][0]
    # The recorded series lags the inlined expression by up to one evaluation (it holds the value of the
    # server's last evaluation of the recording rule): the same firings, at most one step earlier.
    rec_starts = [e["fired_at"] for e in a["episodes"] if e["fired_at"] <= end - 2]
    inl_starts = [e["fired_at"] for e in b["episodes"] if e["fired_at"] <= end - 2]
    assert len(rec_starts) == len(inl_starts) >= 1
    assert all(0 <= r - i <= 1.001 for r, i in zip(rec_starts, inl_starts, strict=True))
    assert doc["check_replay"]["alike_ratio"] == 1.0 and inlined.returncode == 0


@pytest.mark.oracle
@pytest.mark.slow
def test_compare_and_text_report(live: tuple[str, Path, float, float]) -> None:
    url, tmp, start, end = live
    stricter = tmp / "stricter.yml"
    stricter.write_text(RULES.replace("for: 2s", "for: 30s"))
    proc = run_opsctl("rules", "backtest", str(tmp / "rules.yml"), "--prometheus", url, "--from", f"{start:.3f}",
                      "--to", f"{end:.3f}", "--compare", str(stricter), "--check-replay")
    assert proc.returncode == 0, proc.stderr
    assert "pushdown: 5 alerts" in proc.stdout and "firings alike (100.0%)" in proc.stdout
    assert "ValueHigh" in proc.stdout and "compared with" in proc.stdout


def test_unreachable_and_bad_arguments(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    port = free_port()
    proc = run_opsctl("rules", "backtest", str(rules), "--prometheus", f"http://127.0.0.1:{port}",
                      "--from", "now-5m", "--timeout", "1", env={"OPSCTL_PROMETHEUS_TOKEN": "secret-token-value"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "secret-token-value" not in proc.stderr + proc.stdout
    both = run_opsctl("rules", "backtest", str(rules), "--prometheus", "http://127.0.0.1:1", "--data", str(rules))
    assert both.returncode == 2 and "exactly one" in both.stderr
    check = run_opsctl("rules", "backtest", str(rules), "--data", str(rules), "--check-replay")
    assert check.returncode == 2 and "--check-replay needs --prometheus" in check.stderr


def _rec(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    return Rule(kind="record", name=name, expr=expr, file="r.yml", group="g", index=1, line=1, column=1,
                labels=labels or {})


@pytest.mark.parametrize(("expr", "want"), [
    ("a:b > 1", "(sum(x)) > 1"),
    ("sum(a:b) / a:b", "sum((sum(x))) / (sum(x))"),
    ("a:b > 1 and on() vector(time()) > 0 # a:b", "(sum(x)) > 1 and on() vector(time()) > 0 # a:b"),
    ('label_replace(a:b, "a:b", "a:b", "", "")', 'label_replace((sum(x)), "a:b", "a:b", "", "")'),
    ("max_over_time(a:b[5m:1m])", "max_over_time((sum(x))[5m:1m])"),
    ("rate(a:b[5m])", None),  # a range selector over the recorded series: not exact as a subquery
    ('a:b{job="x"} > 1', None),  # extra matchers: not exact
    ("a:b offset 5m", None),
])
def test_inline_recording_rules(expr: str, want: str | None) -> None:
    got, done = inline_recording_rules(expr, {"a:b": _rec("a:b", "sum(x)")}, {"a:b"})
    assert got == want
    assert done == (["a:b"] if want else [])


def test_inline_refuses_rules_that_add_labels_and_follows_chains() -> None:
    assert inline_recording_rules("a:b > 1", {"a:b": _rec("a:b", "sum(x)", {"team": "t"})}, {"a:b"})[0] is None
    recs = {"a:b": _rec("a:b", "c:d * 2"), "c:d": _rec("c:d", "sum(x)")}
    assert inline_recording_rules("a:b > 1", recs, {"a:b", "c:d"}) == ("((sum(x)) * 2) > 1", ["a:b", "c:d"])


RAW = """\
groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:demo_value:max3
        expr: max by (job) (demo_value)
      - alert: RecordedHigh
        expr: job:demo_value:max3{job="demo"} > 1
      - alert: Gone
        expr: absent(demo_gone)
"""


@pytest.mark.oracle
@pytest.mark.slow
def test_raw_mode_and_export_replay_read_staleness(live: tuple[str, Path, float, float]) -> None:
    """A recorded name with a matcher cannot be inlined exactly: raw mode (raw samples, replayed here).
    The samples carry no stale markers: staleness is read from their gaps, so absent() still fires when
    demo_gone stops and every firing is alike (the export-based replay missed such firings before)."""
    from opsctl.rules.backtest import load_rule_groups
    from opsctl.rules.backtest_live import backtest_live, check_replay

    url, tmp, start, end = live
    (tmp / "raw.yml").write_text(RAW)
    with PrometheusClient(url) as client:
        res = backtest_live([str(tmp / "raw.yml")], client, start, end)
        assert res.modes == {"RecordedHigh": "raw", "Gone": "pushdown"}  # the mode is chosen per alert
        assert any("raw mode (RecordedHigh)" in w for w in res.warnings)
        groups = load_rule_groups([str(tmp / "raw.yml")])
        checked = check_replay(res, client, groups)
        print(checked.to_dict())
        assert checked.alike_ratio == 1.0 and checked.total >= 3
        # An export of the raw samples (no stale markers) replayed with the export-based backtest: staleness
        # read from the gaps, absent() fires when demo_gone stops and every firing is alike.
        from opsctl.rules import backtest_live as live_mod

        series = []
        for name in ("demo_value", "demo_gone"):
            series += client.query(f'{{__name__="{name}"}}[{int(end - start) + 60}s]', end)
        exported = live_mod.backtest([str(tmp / "raw.yml")], series, start, end, step=1.0)
        checked = check_replay(exported, client, groups)
        print(checked.to_dict())
        assert checked.alike_ratio == 1.0
        gone = [e.fired_at - _Exporter.started for e in exported.alert("Gone").episodes]  # type: ignore[union-attr]
        assert any(20 <= t <= 23 for t in gone), gone
        # Without it, the stopped series is read for the 5m lookback: absent() does not fire in the window.
        plain = live_mod.backtest([str(tmp / "raw.yml")], series, start, end, step=1.0, infer_staleness=False)
        late = [e.fired_at - _Exporter.started for e in plain.alert("Gone").episodes]  # type: ignore[union-attr]
        assert not any(20 <= t <= 23 for t in late), late


def _alerts_server(samples: dict[tuple[tuple[str, str], ...], list[float]]) -> PrometheusClient:
    """A client whose server answers ALERTS matrix queries with these sample times (httpx mock transport)."""
    def handler(request: httpx.Request) -> httpx.Response:
        t = float(request.url.params["time"])
        span = float(request.url.params["query"].split("[")[1].rstrip("s]"))
        result = [{"metric": {**dict(k), "__name__": "ALERTS", "alertstate": "firing"},
                   "values": [[x, "1"] for x in ts if t - span <= x <= t]} for k, ts in samples.items()]
        data = {"resultType": "matrix", "result": [r for r in result if r["values"]]}
        return httpx.Response(200, json={"status": "success", "data": data})
    return PrometheusClient("http://prometheus.invalid", transport=httpx.MockTransport(handler))


def test_check_replay_matching(tmp_path: Path) -> None:
    """alike within two intervals, same labels only; a later start or other labels is a miss on both sides;
    a real firing resumes after a gap of more than 1.5 intervals; the typical offset is the median."""
    from opsctl.rules.backtest import AlertStats, BacktestResult, Episode
    from opsctl.rules.backtest_live import check_replay
    from opsctl.rules.loader import load_rule_file

    t0 = 1_700_000_000.0
    a = (("alertname", "A"), ("i", "1"))
    b = (("alertname", "A"), ("i", "2"))
    real = {a: [t0 + 10 + k for k in range(5)] + [t0 + 30 + k for k in range(5)] + [t0 + 60 + k for k in range(3)],
            b: [t0 + 40 + k for k in range(5)]}
    res = BacktestResult(["r.yml"], t0, t0 + 100)
    stats = AlertStats("A", [], 0.0, 0.0, 10.0, t0, t0 + 100)
    stats.episodes = [Episode(dict(a), t0 + 11, t0 + 11, t0 + 15),  # alike, +1 s
                      Episode(dict(a), t0 + 32, t0 + 32, t0 + 35),  # alike, +2 s (two intervals of 1 s)
                      Episode(dict(a), t0 + 63, t0 + 63, t0 + 66),  # 3 s late: not alike
                      Episode({"alertname": "A", "i": "3"}, t0 + 40, t0 + 40, t0 + 45)]  # other labels
    res.alerts = [stats]
    rules = tmp_path / "r.yml"
    rules.write_text("groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: A\n    expr: x > 1\n")
    groups = load_rule_file(str(rules)).groups
    with _alerts_server(real) as client:
        got = check_replay(res, client, groups)
    r = got.rules[0]
    assert r.alike == 2 and r.typical_offset == pytest.approx(1.5)
    assert [t - t0 for _, t in r.only_replayed] == [40.0, 63.0]
    assert sorted(t - t0 for _, t in r.only_real) == [40.0, 60.0]
    assert got.total == 6 and got.alike_ratio == pytest.approx(2 / 6)
