"""Large rule files cut between groups (opsctl.rules.split) and read in worker processes give exactly the
result of reading them whole: same findings, same rules with the same positions, same YAML errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.parallel import can_fork
from opsctl.rules import validate as validate_mod
from opsctl.rules.config import RulesConfig
from opsctl.rules.split import split_groups
from opsctl.rules.validate import validate
from opsctl.yamlutil import Limits

pytestmark = pytest.mark.skipif(not can_fork(), reason="fork-based workers are Linux-only")


def snapshot(result: validate_mod.ValidationResult) -> tuple[object, ...]:
    rules = [(r.group, r.name, r.index, r.line, r.column, r.end_line, r.kind, r.expr, sorted(r.labels.items()),
              sorted(r.annotations.items()), sorted(r.disabled), r.invalid, r.for_, sorted(r.field_locs.items()),
              sorted(r.label_locs.items()), sorted(r.annotation_locs.items()))
             for rf in result.files for g in rf.groups for r in g.rules]
    groups = [(g.name, g.line, g.column, g.interval, g.limit, sorted(g.labels.items()))
              for rf in result.files for g in rf.groups]
    files = [(rf.path, rf.kind, rf.unreadable, sorted(rf.file_disabled)) for rf in result.files]
    return [f.to_dict() for f in result.findings], rules, groups, files


def same_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int = 3) -> validate_mod.ValidationResult:
    monkeypatch.setattr(validate_mod, "PARALLEL_MIN_BYTES_PER_JOB", 64)
    config = RulesConfig(runbooks_dir=None)
    one = validate([path], config, jobs=1)
    many = validate([path], config, jobs=jobs)
    assert snapshot(many) == snapshot(one)
    return many


def group(name: str, body: str = "", indent: str = "") -> str:
    rules = body or (f"  rules:\n  - alert: A_{name}\n    expr: rate(x_total{{code=~\"5..\"}}[5m]) > 1\n"
                     "    for: 5m\n    labels: {severity: warning}\n")
    text = f"- name: {name}\n{rules}"
    return "".join(indent + line + "\n" for line in text.splitlines())


PLAIN = "groups:\n" + "".join(group(f"g{i}") for i in range(12))


def test_plain_file_is_cut_and_read_in_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = split_groups(PLAIN, 3)
    assert parts is not None and len(parts) == 3
    lines = PLAIN.splitlines(keepends=True)
    for part in parts:  # own lines verbatim at their own line numbers, earlier parts blank
        plines = part.text.splitlines(keepends=True)
        end = (part.end_line or len(lines) + 1) - 1
        assert plines[part.first_line - 1:end] == lines[part.first_line - 1:end]
        assert all(not ln.strip() for ln in plines[1:part.first_line - 1])
    path = tmp_path / "r.yml"
    path.write_text(PLAIN)
    result = same_both_ways(path, monkeypatch)
    parsed = [r.ast is not None for g in result.files[0].groups for r in g.rules]
    assert any(parsed) and not all(parsed)  # part of the file was read by a worker


CASES = {
    "indented items": "groups:\n" + "".join(group(f"g{i}", indent="  ") for i in range(9)),
    "duplicate names across parts": "groups:\n" + "".join(group(n) for n in "abcabcabca"),
    "disable-file at the end": PLAIN + "# opsctl: disable-file=alert-for-missing,severity-label\n",
    "header and trailer keys": "# top\nfoo: 1\ngroups:\n# first\n" + "".join(group(f"g{i}") for i in range(9))
                               + "bar: 2\n",
    "YAML error in a later part": "groups:\n" + "".join(group(f"g{i}") for i in range(9)) + "- name: [bad\n",
    "duplicate key in a later part": PLAIN + "- name: x\n  name: y\n",
    "CRLF": PLAIN.replace("\n", "\r\n"),
    "lone CR line breaks": "groups:\n" + "".join(group(f"g{i}") for i in range(4)).replace("\n", "\r", 20)
                           + "".join(group(f"h{i}") for i in range(6)),
    "anchors": "groups:\n- name: a\n  labels: &l {team: x}\n  rules: []\n"
               + "".join(group(f"g{i}") for i in range(8)) + "- name: z\n  labels: *l\n",
    "dedented quoted continuation over a cut": "groups:\n" + "".join(group(f"g{i}") for i in range(4))
        + "- name: q\n  rules:\n  - alert: Q\n    expr: \"up ==\n- name: fake\n 0\"\n"
        + "".join(group(f"h{i}") for i in range(5)),
    "block scalars": "groups:\n" + "".join(group(f"g{i}", "  rules:\n  - alert: B\n    expr: |\n      up\n"
                                                 "      - name: not-a-group\n") for i in range(8)),
    "dash-only items": "groups:\n" + "".join(f"-\n  name: g{i}\n  rules: []\n" for i in range(6))
                       + "".join(group(f"h{i}") for i in range(6)),
    "flow items": "groups:\n" + "".join(f"- {{name: f{i}, rules: []}}\n" for i in range(5))
                  + "".join(group(f"h{i}") for i in range(6)),
    "inline disables at cut lines": "groups:\n" + "".join(
        group(f"g{i}", f"  rules:\n  - alert: N{i}\n    expr: up == 0\n  # opsctl: disable=alert-for-missing\n")
        for i in range(9)),
    "structural errors": "groups:\n" + "".join(group(f"g{i}", "  interval: 5 minutes\n  rules:\n  - alert: E\n"
                                                            "    expr: sum(\n    unknown: 1\n") for i in range(9)),
    "empty items": "groups:\n" + "".join(group(f"g{i}") + "-\n" for i in range(6)),
    "multiple documents": PLAIN + "---\n" + PLAIN,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tricky_files_read_the_same(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.yml"
    path.write_bytes(CASES[name].encode())
    same_both_ways(path, monkeypatch)


def test_a_cut_inside_a_dedented_quoted_scalar_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # YAML lets a quoted scalar's continuation lines start further left; `- name: fake` below is part of
    # the expression, not a group, but looks like a place to cut
    before = "".join(group(f"g{i}") for i in range(6))
    quoted = "- name: q\n  rules:\n  - alert: Q\n    expr: \"up ==\n- name: fake 0\"\n"
    text = "groups:\n" + before + quoted + "".join(group(f"h{i}") for i in range(6))
    fake_line = text[:text.index("- name: fake")].count("\n") + 1
    parts = split_groups(text, 2)
    assert parts is not None and parts[1].first_line == fake_line  # the splitter is fooled...
    path = tmp_path / "r.yml"
    path.write_text(text)
    result = same_both_ways(path, monkeypatch, jobs=2)  # ...and the read is not
    assert [g.name for g in result.files[0].groups].count("fake") == 0


def test_node_limit_over_all_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.yml"
    path.write_text(PLAIN)
    original = validate_mod.LoadOptions
    # each part stays under the limit, the whole file does not
    monkeypatch.setattr(validate_mod, "LoadOptions", lambda **kw: original(limits=Limits(max_nodes=150), **kw))
    result = same_both_ways(path, monkeypatch)
    assert result.files[0].unreadable and "document too large" in result.findings[0].message


PIECES = [
    group("a"), group("b"), group("a"), group("c", indent=""), "# comment\n", "\n",
    "- name: e\n  rules:\n  - record: bad name\n    expr: up\n",
    "- name: t\n  rules:\n  - alert: T\n    expr: up\n    annotations: {summary: \"{{ $labels.x \"}\n",
    "- name: q\n  rules:\n  - alert: Q\n    expr: \"up ==\n- name: fake\n 1\"\n",
    "- name: s\n  rules:\n  - alert: S\n    expr: 'up\n\n  == 1'\n",
    "# opsctl: disable=alert-for-missing\n", "# opsctl: disable-file=severity-label\n",
    "- name: d\n  interval: 1x\n  rules: []\n", "-\n", "- name: f\n  rules: [{alert: F, expr: up}]\n",
    "- name: k\n  rules:\n  - alert: K\n    expr: up\n    expr: down\n",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES), min_size=2, max_size=16), st.integers(min_value=2, max_value=4),
       st.booleans())
def test_random_files_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pieces: list[str],
                                    jobs: int, crlf: bool) -> None:
    text = "groups:\n" + "".join(pieces)
    path = tmp_path / "r.yml"
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode())
    same_both_ways(path, monkeypatch, jobs)
