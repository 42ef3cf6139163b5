"""Reproducers of ../shared/repro/security/redos and ../shared/repro/regex as regression tests.

ReDoS: each command runs in a subprocess under a 20 s timeout that a backtracking engine blows (they ran
for 30-60 s and more before opsctl.gosem); no timed assertion beyond that. The answers are the real tools'
(promtool 2.42 `test rules`, amtool 0.25 `config routes test`), run side by side where they are installed.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import find_tool, run_opsctl

DATA = Path(__file__).parent / "data"
LIMIT = 20.0  # seconds: far above RE2's milliseconds, far below a backtracking engine's minutes
EVIL = "a" * 44  # `(a+)+b` on this takes Python's re 2**44 steps


def _opsctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_opsctl(*args, timeout=LIMIT, cwd=cwd)


@pytest.mark.parametrize("name", ["redos_promql.test.yml", "unicode_digit.test.yml", "posix_class.test.yml"])
def test_rules_test_reproducers_pass_as_in_promtool(name: str) -> None:
    proc = _opsctl("rules", "test", str(DATA / name))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["redos_promql.test.yml", "unicode_digit.test.yml", "posix_class.test.yml"])
def test_rules_test_reproducers_promtool(name: str) -> None:
    proc = subprocess.run([find_tool("promtool"), "test", "rules", str(DATA / name)], capture_output=True,
                          text=True, timeout=LIMIT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unicode_digits_are_not_go_digits(tmp_path: Path) -> None:
    """Go's \\d is ASCII: `\\d+` does not match Arabic-Indic digits, so count() has no sample; a test that
    expects one fails, as in promtool."""
    text = (DATA / "unicode_digit.test.yml").read_text(encoding="utf-8").replace(
        "exp_samples: []", "exp_samples:\n    - labels: '{}'\n      value: 1")
    path = tmp_path / "expects_a_sample.yml"
    path.write_text(text, encoding="utf-8")
    proc = _opsctl("rules", "test", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout


@pytest.mark.parametrize(("labels", "receiver"), [
    (f"job={EVIL}", "default"), (f"job={EVIL}b", "evil"), ("job=b", "default"), ("job=ab", "evil"), ("job=", "default"),
])
def test_alertmanager_routes_test_redos(labels: str, receiver: str) -> None:
    proc = _opsctl("alertmanager", "routes", "test", str(DATA / "redos_am.yml"), labels)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == [receiver]


@pytest.mark.oracle
@pytest.mark.parametrize("labels", [f"job={EVIL}", f"job={EVIL}b", "job=b", "job=ab", "job="])
def test_alertmanager_routes_test_redos_same_as_amtool(labels: str) -> None:
    amtool = find_tool("amtool")
    real = subprocess.run([amtool, "config", "routes", "test", "--config.file", str(DATA / "redos_am.yml"),
                           labels], capture_output=True, text=True, timeout=LIMIT)
    ours = _opsctl("alertmanager", "routes", "test", str(DATA / "redos_am.yml"), labels)
    assert ours.stdout.split() == real.stdout.split()


class _Evil(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"a" * 40 + b"!"  # 41 bytes, as in the reproducer
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def evil_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_probe_body_match_redos(tmp_path: Path, evil_server: str) -> None:
    (tmp_path / "probe.yaml").write_text(f"""version: 1
state_file: state/detect.db
detectors:
  - name: probe-body
    kind: http_probe
    params: {{url: "{evil_server}/evil", body_match: "^(a+)+$"}}
  - name: probe-found
    kind: http_probe
    params: {{url: "{evil_server}/evil", body_match: "(a+)+!"}}
alerting: {{receivers: {{}}}}
""")
    proc = _opsctl("detect", "run", "-c", "probe.yaml", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one finding
    assert "body does not match /^(a+)+$/" in proc.stdout
    assert "(a+)+!" not in proc.stdout


def test_http_probe_rejects_what_go_rejects(tmp_path: Path) -> None:
    (tmp_path / "probe.yaml").write_text("""version: 1
state_file: state/detect.db
detectors:
  - name: probe-body
    kind: http_probe
    params: {url: "http://127.0.0.1:9/x", body_match: "(?=a)"}
alerting: {receivers: {}}
""")
    proc = _opsctl("detect", "run", "-c", "probe.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "invalid or unsupported Perl syntax: `(?=`" in proc.stderr
    assert "Traceback" not in proc.stderr


def _sli(text: str) -> str:
    line = next(x for x in text.splitlines() if x.strip().startswith("status"))
    return line.split("SLI", 1)[1].split()[0]


def test_slo_report_posix_class_same_as_dotdot() -> None:
    data = Path(__file__).parents[2] / "examples" / "slo" / "checkout.csv"
    posix = _opsctl("slo", "report", str(DATA / "slo_posix.yml"), "--data", str(data))
    dotdot = _opsctl("slo", "report", str(DATA / "slo_dotdot.yml"), "--data", str(data))
    assert posix.returncode == dotdot.returncode == 0, posix.stdout + posix.stderr
    assert "NO DATA" not in posix.stdout
    assert _sli(posix.stdout) == _sli(dotdot.stdout) == "99.8334%"


def test_selector_readers_agree() -> None:
    """../shared/repro/regex/selector_readers.py: slo, the engine and the linter read `x{a="1" or a="2"}`
    alike (two alternatives), and slo's regexes are Go's (`foo(?i)bar` is valid and matches `fooBAR`)."""
    import promql_parser as pp

    from opsctl.promql import ast
    from opsctl.promql_syntax import Matcher, matcher_groups
    from opsctl.rules.promql_ast import matchers
    from opsctl.slo.evaluate import matches_any, selectors

    q = 'x{a="1" or a="2"}'
    two = [[("__name__", "=", "x"), ("a", "=", "1")], [("__name__", "=", "x"), ("a", "=", "2")]]
    assert selectors(q) == two
    assert [[(n, op, v) for op, n, v in g] for g in ast.matchers_of(pp.parse(q))] == two
    assert matchers(pp.parse(q)) == [Matcher("a", "Equal", "1"), Matcher("a", "Equal", "2")]
    assert [[(m.name, m.symbol, m.value) for m in g] for g in matcher_groups(pp.parse(q))] == two
    assert matches_any({"__name__": "x", "a": "2"}, selectors(q))
    assert not matches_any({"__name__": "x", "a": "3"}, selectors(q))
    assert matches_any({"__name__": "x", "a": "fooBAR"}, selectors('x{a=~"foo(?i)bar"}'))
    assert not matches_any({"__name__": "x", "a": "FOObar"}, selectors('x{a=~"foo(?i)bar"}'))
