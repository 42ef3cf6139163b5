"""AlertmanagerTemplates loading (FromGlobs semantics) and the Data model."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.alertmanager import KV, AlertmanagerTemplates, Data, cases_title, parse_rfc3339
from tests.gotemplate.am_corpus import AM_DATA


def test_user_files_extend_and_override_in_glob_order(tmp_path: Path) -> None:
    (tmp_path / "a.tmpl").write_text('{{ define "x" }}A{{ end }}{{ define "slack.default.title" }}mine{{ end }}')
    (tmp_path / "b.tmpl").write_text('{{ define "x" }}B:{{ .Receiver }}{{ end }}')
    t = AlertmanagerTemplates(["*.tmpl", "missing/*.tmpl"], base_dir=tmp_path)
    data = Data(Receiver="r")
    assert t.render("x", data) == "B:r"  # b.tmpl is parsed after a.tmpl
    assert t.render("slack.default.title", data) == "mine"
    assert t.render('{{ template "__alertmanager" . }}', data) == "Alertmanager"
    assert [p.name for p in t.files] == ["a.tmpl", "b.tmpl"]
    assert t.render("", data) == ""
    assert t.render("plain text", data) == "plain text"


def test_broken_user_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tmpl"
    bad.write_text('{{ define "x" }}\n{{ foo }}{{ end }}\n')
    with pytest.raises(TemplateError) as info:
        AlertmanagerTemplates([str(bad)])
    assert str(info.value) == 'template: bad.tmpl:2: function "foo" not defined'
    assert info.value.path == str(bad)  # type: ignore[attr-defined]
    assert info.value.line == 2


def test_render_template_unknown_name() -> None:
    with pytest.raises(TemplateError, match='no template "nope" defined'):
        AlertmanagerTemplates().render_template("nope", Data())


def test_data_from_json_and_kv_methods() -> None:
    d = Data.from_json(AM_DATA)
    assert d.Alerts.Firing()[0].Fingerprint == "abc123"
    assert len(d.Alerts.Resolved()) == 1
    kv = KV({"b": "2", "alertname": "X", "a": "1"})
    assert kv.Names() == ["alertname", "a", "b"]
    assert kv.Values() == ["X", "1", "2"]
    assert kv.Remove(["a"]) == {"b": "2", "alertname": "X"}
    t = parse_rfc3339("2024-01-02T03:04:05.5+02:00")
    assert str(t) == "2024-01-02 03:04:05.5 +0200 +0200"
    assert t.UTC().Format("2006-01-02T15:04:05.000Z07:00") == "2024-01-02T01:04:05.500Z"
    for bad in ({"alerts": [{"startsAt": "yesterday"}]}, {"commonLabels": {"a": 1}}, {"receiver": 3}, []):
        with pytest.raises(ValueError):
            Data.from_json(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("hELLO wORLD", "Hello World"),
    ("foo-bar o'neil x.y a..b", "Foo-Bar O'neil X.y A..B"),
    ("1st 3.d _x (xY)", "1St 3.D _X (Xy)"),
    ("éCOLE ñA-b", "École Ña-B"),
])
def test_alertmanager_title_is_cases_title(text: str, expected: str) -> None:
    # expectations from amtool 0.25 `template render` ({{ title "..." }})
    assert cases_title(text) == expected
