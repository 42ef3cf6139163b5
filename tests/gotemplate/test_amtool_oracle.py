"""Oracle: `amtool template render` (Alertmanager 0.25) vs AlertmanagerTemplates.render on the same texts,
template files and JSON data: same output, or the same error text.

The Debian amtool has no built-in templates compiled in, so both sides load the packaged default.tmpl as a
template file (named default.tmpl on both sides)."""

from __future__ import annotations

import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.alertmanager import AlertmanagerTemplates, Data
from tests.conftest import find_tool
from tests.gotemplate.am_corpus import AM_DATA as DATA
from tests.gotemplate.am_corpus import AM_TEXTS
from tests.gotemplate.go_cases import GO_CASES

pytestmark = pytest.mark.oracle

DEFAULT_TMPL = Path(__file__).resolve().parents[2] / "opsctl" / "gotemplate" / "data" / "default.tmpl"

USER_TMPL = """{{ define "team.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}
{{ define "team.body" }}{{ range .Alerts }}* {{ .Labels.instance }}: {{ .Annotations.summary }}
{{ end }}{{ end }}
"""


def test_amtool_template_render_matches(tmp_path: Path) -> None:
    amtool = find_tool("amtool")
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(DATA), encoding="utf-8")
    user = tmp_path / "team.tmpl"
    user.write_text(USER_TMPL, encoding="utf-8")
    texts = [*AM_TEXTS, '{{ template "team.title" . }}', '{{ template "team.body" . }}']

    def run(text: str) -> tuple[int, str]:
        proc = subprocess.run([amtool, "template", "render", f"--template.glob={DEFAULT_TMPL}",
                               f"--template.glob={user}", f"--template.text={text}",
                               f"--template.data={data_file}"], capture_output=True, text=True, timeout=60)
        if proc.returncode == 0:
            return 0, proc.stdout
        return 1, proc.stderr.strip().removeprefix("amtool: error: ")

    with ThreadPoolExecutor(max_workers=2) as pool:
        expected = list(pool.map(run, texts))

    templates = AlertmanagerTemplates([str(DEFAULT_TMPL), str(user)], include_defaults=False)
    data = Data.from_json(DATA)
    mismatches = []
    for text, exp in zip(texts, expected, strict=True):
        try:
            got = (0, templates.render(text, data))
        except TemplateError as err:
            got = (1, str(err))
        if got != exp:
            mismatches.append((text, exp, got))
    assert sum(1 for rc, _ in expected if rc) >= 4  # errors are compared too
    assert mismatches == []


def test_builtin_defaults_render_named_templates() -> None:
    templates = AlertmanagerTemplates()
    data = Data.from_json(DATA)
    assert templates.render("slack.default.title", data) == "[FIRING:1] HighLatency api (page)"
    assert templates.render("__alertmanagerURL", data) == "http://am.example.com:9093/#/alerts?receiver=team-x"
    assert "slack.default.title" in templates.names()
    with pytest.raises(TemplateError, match="executing"):
        templates.render('{{ template "__text_alert_list" . }}', data)


def test_go_behaviour_table_matches_amtool(tmp_path: Path) -> None:
    """The hard-coded expectations of GO_CASES (checked without Go in test_go_behaviour) are Go's.
    Cases that render fine run as one amtool call (joined by a separator); errors run one by one."""
    amtool = find_tool("amtool")
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(DATA), encoding="utf-8")

    def run(text: str) -> tuple[bool, str]:
        proc = subprocess.run([amtool, "template", "render", f"--template.glob={DEFAULT_TMPL}",
                               f"--template.text={text}", f"--template.data={data_file}"],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode == 0:
            return False, proc.stdout
        return True, proc.stderr.strip().removeprefix("amtool: error: ")

    sep = "<<SEP>>"
    batch = [c for c in GO_CASES if not c[1] and "define" not in c[0] and "block" not in c[0] and sep not in c[2]]
    single = [c for c in GO_CASES if c not in batch]
    assert len(batch) > 100
    err, out = run(sep.join(c[0] for c in batch))
    assert not err, out
    wrong = [(c, g) for c, g in zip(batch, out.split(sep), strict=True) if c[2] != g]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(run, [c[0] for c in single]))
    wrong += [(case, g) for case, g in zip(single, got, strict=True) if (case[1], case[2]) != g]
    assert wrong == []


PRINTF_ARGS = ["1", "-1", "0", "255", "3.14159", "1e6", "1e-7", "-0.0", "\"str\"", "\"é\"", "true", "nil", "'a'",
               "0x10", "1e21", "123456789.0", "0.5", "-2.5", "100000.0", "\"\"", ".CommonLabels.Names",
               ".GroupLabels", "(index .CommonLabels.SortedPairs 0)", "1.0", "9999999.0", "0.000123"]


def _random_printf_calls(seed: int, n: int) -> list[str]:
    rnd = random.Random(seed)
    calls = []
    for _ in range(n):
        parts = []
        for _ in range(rnd.randint(1, 3)):
            if rnd.random() < 0.2:
                parts.append(rnd.choice(["x", " ", "-", "ab"]))
            f = "%" + "".join(rnd.choice("+-# 0") for _ in range(rnd.randint(0, 2)))
            if rnd.random() < 0.5:
                f += str(rnd.randint(0, 12))
            if rnd.random() < 0.5:
                f += "." + (str(rnd.randint(0, 8)) if rnd.random() < 0.9 else "")
            parts.append(f + rnd.choice("vdsqxXofeEgGtcbUT%FO"))
        args = " ".join(rnd.choice(PRINTF_ARGS) for _ in range(rnd.randint(0, 3)))
        calls.append("{{ printf " + json.dumps("".join(parts)) + " " + args + " }}")
    return calls


def test_random_printf_formats_match_go(tmp_path: Path) -> None:
    """Differential fuzzing of fmt: 1500 seeded random format strings (flags, width, precision, every verb,
    wrong-type and missing/extra arguments) in one amtool render."""
    amtool = find_tool("amtool")
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(DATA), encoding="utf-8")
    calls = _random_printf_calls(11, 1500)
    text = "\n#\n".join(calls)
    proc = subprocess.run([amtool, "template", "render", f"--template.glob={DEFAULT_TMPL}", f"--template.text={text}",
                           f"--template.data={data_file}"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    templates = AlertmanagerTemplates([str(DEFAULT_TMPL)], include_defaults=False)
    got = templates.render(text, Data.from_json(DATA)).split("\n#\n")
    expected = proc.stdout.split("\n#\n")
    assert len(got) == len(expected) == len(calls)
    wrong = [(c, e, g) for c, e, g in zip(calls, expected, got, strict=True) if e != g]
    assert wrong == []


AM_FRAGMENTS = [
    ".Receiver", ".Status", ".Alerts", ".Alerts.Firing", ".Alerts.Resolved", ".GroupLabels", ".CommonLabels",
    ".CommonAnnotations", ".ExternalURL", ".CommonLabels.SortedPairs", ".CommonLabels.Names", ".CommonLabels.Values",
    ".GroupLabels.Names", "(index .Alerts 0)", "(index .Alerts 0).Labels", ".CommonLabels.job", ".CommonLabels.nope",
    "len", "index", "slice", "eq", "ne", "lt", "and", "or", "not", "print", "printf \"%v\"", "printf \"%q\"",
    "printf \"%d\"", "printf \"%s|%v\"", "html", "js", "urlquery", "join \",\"", "toUpper", "toLower", "title",
    "match \"a\"", "reReplaceAll \"a\" \"b\"", "stringSlice", "safeHtml", "|", "(", ")", "0", "1", "-1", "2.5", "\"a\"",
    "\"job\"", "true", "nil", ".", "$", "'x'", "1e6",
]


def test_random_templates_on_alertmanager_data_render_like_go(tmp_path: Path) -> None:
    """Differential fuzzing of execution on Alertmanager data: random templates that render without error in
    opsctl are rendered by amtool in one call; Go must not fail on any of them and must print the same."""
    amtool = find_tool("amtool")
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(DATA), encoding="utf-8")
    templates = AlertmanagerTemplates([str(DEFAULT_TMPL)], include_defaults=False)
    data = Data.from_json(DATA)
    rnd = random.Random(5)
    cases: list[tuple[str, str]] = []
    while len(cases) < 600:
        text = "{{ " + " ".join(rnd.choice(AM_FRAGMENTS) for _ in range(rnd.randint(1, 6))) + " }}"
        if rnd.random() < 0.2:
            over = rnd.choice([".Alerts", ".CommonLabels", ".CommonLabels.SortedPairs", ".GroupLabels.Names"])
            text = "{{ range $i, $e := " + over + " }}" + text.replace(" . ", " $e ") + "{{ end }}"
        try:
            cases.append((text, templates.render(text, data)))
        except TemplateError:
            continue
    sep = "<<SEP>>"
    proc = subprocess.run([amtool, "template", "render", f"--template.glob={DEFAULT_TMPL}",
                           "--template.text=" + sep.join(c[0] for c in cases), f"--template.data={data_file}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    parts = proc.stdout.split(sep)
    assert len(parts) == len(cases)
    wrong = [(c, got, exp) for (c, got), exp in zip(cases, parts, strict=True) if got != exp]
    assert wrong == []


def test_random_failing_templates_fail_like_go(tmp_path: Path) -> None:
    """...and random templates that fail in opsctl fail in Go with the same error text."""
    amtool = find_tool("amtool")
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(DATA), encoding="utf-8")
    templates = AlertmanagerTemplates([str(DEFAULT_TMPL)], include_defaults=False)
    data = Data.from_json(DATA)
    rnd = random.Random(3)
    cases: list[tuple[str, str]] = []
    while len(cases) < 120:
        text = "{{ " + " ".join(rnd.choice(AM_FRAGMENTS) for _ in range(rnd.randint(1, 6))) + " }}"
        try:
            templates.render(text, data)
        except TemplateError as err:
            if "executing" in str(err):
                cases.append((text, str(err)))

    def run(text: str) -> tuple[int, str]:
        proc = subprocess.run([amtool, "template", "render", f"--template.glob={DEFAULT_TMPL}",
                               f"--template.text={text}", f"--template.data={data_file}"],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stderr.strip().removeprefix("amtool: error: ")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, [c[0] for c in cases]))
    wrong = [(c, r) for c, r in zip(cases, results, strict=True) if r != (1, c[1])]
    assert wrong == []
