"""Config validation: every error names file:line:col; fuzzed configs never crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.detect.config import load_config
from opsctl.errors import InputError
from tests.conftest import ROOT, run_opsctl
from tests.detect.helpers import cli

GOOD = """\
version: 1
sources:
  m: {type: file, path: m.csv}
detectors:
  - name: a
    kind: robust_z
    source: m
    params: {window: 30}
alerting:
  receivers:
    hook: {type: webhook, url: "http://127.0.0.1:1/x"}
  routes:
    - {min_severity: warning, receivers: [hook]}
"""


def _err(tmp: Path, text: str) -> InputError:
    p = tmp / "d.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        load_config(p)
    return exc.value


def test_good_config_loads(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text(GOOD)
    lc = load_config(p)
    assert lc.config.detectors[0].params == {"window": 30}
    assert lc.state_path == tmp_path / "detect-state.db"


@pytest.mark.parametrize(("old", "new", "line", "col", "words"), [
    ("kind: robust_z", "kind: robust_zz", 6, 11, "unknown detector kind 'robust_zz'"),
    ("params: {window: 30}", "params: {window: 1}", 8, 22, "greater than or equal to 3"),
    ("params: {window: 30}", "params: {windw: 30}", 8, 14, "unknown field"),
    ("source: m", "source: nope", 7, 13, "unknown source 'nope'"),
    ("receivers: [hook]", "receivers: [hoek]", 13, 43, "unknown receiver 'hoek'"),
    ("type: webhook", "type: carrier-pigeon", 11, 18, "unknown type 'carrier-pigeon'"),
    ("{type: file, path: m.csv}", "{type: ftp, path: m.csv}", 3, 13, "Input tag 'ftp'"),
    ("min_severity: warning", "min_severity: loud", 13, 22, "min_severity"),
    ("version: 1", "version: 2", 1, 10, "version"),
])
def test_errors_point_at_the_place(tmp_path: Path, old: str, new: str, line: int, col: int, words: str) -> None:
    assert old in GOOD
    err = _err(tmp_path, GOOD.replace(old, new))
    assert words in str(err)
    assert (err.line, err.column) == (line, col), str(err)
    assert str(err).startswith(f"{tmp_path / 'd.yaml'}:{line}:{col}: ")


def test_duplicate_names_and_disallowed_command(tmp_path: Path) -> None:
    dup = GOOD.replace("alerting:", "  - {name: a, kind: ewma, source: m}\nalerting:")
    err = _err(tmp_path, dup)
    assert "duplicate detector name" in str(err) and (err.line, err.column) == (9, 12)
    text = GOOD + "remediation:\n  actions:\n    rm: {type: command, argv: [/bin/rm, -rf, /]}\n"
    err = _err(tmp_path, text)
    assert "not in remediation.allowed_commands" in str(err) and err.line == 16


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text(GOOD.replace("kind: robust_z", "kind: nope"))
    r = run_opsctl("detect", "validate", "--config", str(p))
    assert r.returncode == 2 and r.stderr.startswith(f"error: {p}:6:11:") and "Traceback" not in r.stderr
    code, out = cli("validate", "--config", str(ROOT / "examples" / "detect" / "detectors.yaml"))
    assert code == 0 and "ok (5 detectors" in out
    r = run_opsctl("detect", "run", "--config", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


yaml_scalar = st.one_of(st.integers(-5, 5), st.text(max_size=6), st.booleans(), st.none(),
                        st.sampled_from(["5m", "robust_z", "http_probe", "file", "prometheus", "critical"]))
yaml_value = st.recursive(yaml_scalar, lambda c: st.one_of(st.lists(c, max_size=3),
                                                            st.dictionaries(st.sampled_from(
                                                                ["name", "kind", "source", "params", "type",
                                                                 "path", "url", "window", "severity", "receivers"]),
                                                                c, max_size=4)), max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(["version", "sources", "detectors", "alerting", "remediation",
                                            "state_file", "bogus"]), yaml_value, max_size=5))
def test_fuzzed_configs_fail_cleanly(tmp_path: Path, doc: dict) -> None:
    import yaml

    p = tmp_path / "fuzz.yaml"
    p.write_text(yaml.safe_dump(doc))
    try:
        load_config(p)
    except InputError as exc:
        assert exc.file == str(p)


def test_documented_config_example_validates(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "detect.md").read_text()
    start = doc.index("```yaml\nversion: 1") + len("```yaml\n")
    text = doc[start:doc.index("```", start)]
    p = tmp_path / "detectors.yaml"
    p.write_text(text)
    lc = load_config(p)
    assert [d.name for d in lc.config.detectors] == ["api-latency", "homepage"]
    assert set(lc.config.alerting.receivers) == {"am", "pager", "chat", "tg", "hook", "mail"}
