"""Go text/template behaviour, checked without Go: GO_CASES (expectations produced by Go, see
go_cases.py) plus the library API and cases the Alertmanager data model cannot express."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from opsctl.gotemplate import GoSlice, StrMap, Template, TemplateError, gofunc, parse, sprintf
from opsctl.gotemplate.alertmanager import AlertmanagerTemplates, Data
from tests.gotemplate.am_corpus import AM_DATA
from tests.gotemplate.go_cases import GO_CASES

AM = AlertmanagerTemplates()
DATA = Data.from_json(AM_DATA)


@pytest.mark.parametrize(("text", "is_error", "expected"), GO_CASES, ids=[f"go{i}" for i in range(len(GO_CASES))])
def test_go_cases(text: str, is_error: bool, expected: str) -> None:
    if is_error:
        with pytest.raises(TemplateError) as info:
            AM.render(text, DATA)
        # the built-in templates are parsed under the name "" (Alertmanager), the oracle loaded them as a file
        assert str(info.value) == expected.replace("template: default.tmpl:", "template: :")
    else:
        assert AM.render(text, DATA) == expected


def run(text: str, data: Any = None, **kw: Any) -> str:
    return parse(text, "t", **kw).execute(data)


@pytest.mark.parametrize(("text", "data", "expected"), [
    # missing keys: the map type decides (map[string]interface{} -> <no value>, map[string]string -> "")
    ("{{ .a }}|{{ .missing }}", {"a": 1}, "1|<no value>"),
    ("{{ .missing }}", StrMap(a="x"), "<no value>"),  # default option: invalid value
    ("{{ index . \"missing\" }}|{{ index . \"a\" }}", StrMap(a="x"), "|x"),
    ("{{ index . \"missing\" }}", {"a": 1}, "<no value>"),
    ("{{ .a.b.c }}", {"a": {"b": {"c": "deep"}}}, "deep"),
    ("{{ . }}", None, "<no value>"),
    ("{{ .x }}", None, "<no value>"),
    ("{{ range . }}{{ . }},{{ end }}", [1, 2.5, "s", True, None], "1,2.5,s,true,<no value>,"),
    ("{{ range $k, $v := . }}{{ $k }}{{ $v }}{{ end }}", {"b": 2, "a": 1, "c": 3}, "a1b2c3"),
    ("{{ . }}", {"b": [1, 2], "a": {"x": None}}, "map[a:map[x:<nil>] b:[1 2]]"),
    ("{{ . }}", [1.0, 1e6, 1e-5, "a b"], "[1 1e+06 1e-05 a b]"),
    ("{{ printf \"%v|%d\" . . }}", [1, 2], "[1 2]|[1 2]"),
    ("{{ . }}", float("inf"), "+Inf"),
    ("{{ . }}", float("nan"), "NaN"),
    ("{{ . }}", -float("inf"), "-Inf"),
    ("{{ . | printf \"%6.2f|%v\" . }}", 2.0, "  2.00|2"),
])
def test_plain_python_data(text: str, data: Any, expected: str) -> None:
    assert run(text, data) == expected


def test_field_of_nil_interface_is_an_error() -> None:
    with pytest.raises(TemplateError) as info:
        run("{{ .a.b }}", {"a": None})
    assert str(info.value) == 'template: t:1:5: executing "t" at <.a.b>: nil pointer evaluating interface {}.b'


def test_missingkey_options() -> None:
    assert run("{{ .m.x }}", {"m": StrMap()}, missingkey="zero") == ""
    assert run("{{ .m.x }}", {"m": {}}, missingkey="zero") == "<no value>"
    with pytest.raises(TemplateError, match='map has no entry for key "x"'):
        run("{{ .m.x }}", {"m": {}}, missingkey="error")
    with pytest.raises(ValueError):
        Template("t", missingkey="bogus")


@dataclass
class Host:
    Name: str
    Port: int
    Tags: list[str]

    def Addr(self) -> str:
        return f"{self.Name}:{self.Port}"

    def Greet(self, who: str, n: int) -> str:
        return f"hi {who} x{n}"

    def Fail(self) -> str:
        raise RuntimeError("boom")


def test_python_objects_fields_and_methods() -> None:
    h = Host("db", 5432, ["a", "b"])
    assert run("{{ .Name }} {{ .Port }} {{ .Addr }} {{ .Greet \"bob\" 2 }} {{ .Tags }}", h) == \
        "db 5432 db:5432 hi bob x2 [a b]"
    assert run("{{ . }}", h) == "{db 5432 [a b]}"
    assert run("{{ with .Name }}{{ . }}{{ end }} {{ .Port | printf \"%05d\" }}", h) == "db 05432"
    with pytest.raises(TemplateError, match="error calling Fail: boom"):
        run("{{ .Fail }}", h)
    with pytest.raises(TemplateError, match="wrong number of args for Greet: want 2 got 1"):
        run("{{ .Greet \"x\" }}", h)
    with pytest.raises(TemplateError, match="can't evaluate field Nope in type Host"):
        run("{{ .Nope }}", h)
    with pytest.raises(TemplateError, match="can't evaluate field __class__"):
        run("{{ .__class__ }}", h)
    with pytest.raises(TemplateError, match="Name has arguments but cannot be invoked as function"):
        run("{{ .Name 1 }}", h)


def test_custom_functions_and_call() -> None:
    @gofunc("string", "int")
    def rep(s: str, n: int) -> str:
        return s * n

    def add(a: Any, b: Any) -> Any:
        return a + b

    funcs = {"rep": rep, "add": add, "fail": lambda: 1 / 0}
    t = parse("{{ rep \"ab\" 3 }} {{ add 1 2 }} {{ 2 | add 1 }}", "f", funcs)
    assert t.execute(None) == "ababab 3 3"
    with pytest.raises(TemplateError, match="wrong type for value; expected int; got string"):
        parse("{{ \"s\" | rep \"a\" }}", "f", funcs).execute(None)
    with pytest.raises(TemplateError, match="expected string; found 2"):
        parse("{{ 1 | rep 2 }}", "f", funcs).execute(None)
    with pytest.raises(TemplateError, match="expected integer; found \"x\""):
        parse("{{ rep \"a\" \"x\" }}", "f", funcs).execute(None)
    with pytest.raises(TemplateError, match="error calling fail: division by zero"):
        parse("{{ fail }}", "f", funcs).execute(None)
    assert run("{{ call .f 2 3 }}", {"f": add}) == "5"
    with pytest.raises(TemplateError, match='function "nope" not defined'):
        parse("{{ nope }}", "f", funcs)


def test_parse_errors_carry_position() -> None:
    with pytest.raises(TemplateError) as info:
        parse("line one\nline two {{ .x\n", "file.tmpl")
    err = info.value
    assert str(err) == "template: file.tmpl:3: unclosed action started at file.tmpl:2"
    assert err.name == "file.tmpl" and err.line == 3
    with pytest.raises(TemplateError) as info2:
        parse("ok\n\n  {{ foo }}", "f")
    assert info2.value.line == 3 and info2.value.column == 6
    assert info2.value.message == 'function "foo" not defined'


def test_exec_errors_carry_position() -> None:
    with pytest.raises(TemplateError) as info:
        run("a\nb {{ len 3 }}")
    err = info.value
    assert str(err) == 'template: t:2:5: executing "t" at <len 3>: error calling len: len of type int'
    assert (err.line, err.column) == (2, 6)


def test_template_set_api() -> None:
    t = parse('{{ define "a" }}A{{ .x }}{{ end }}main', "main")
    t.add('{{ define "b" }}B{{ template "a" . }}{{ end }}', "second")
    assert t.names() == ["a", "b", "main", "second"]
    assert t.lookup("b") and not t.lookup("zzz")
    assert t.execute({"x": 1}) == "main"
    assert t.execute({"x": 1}, "b") == "BA1"
    t.add('{{ define "a" }}new{{ end }}', "third")  # redefinition across parses replaces (Go semantics)
    assert t.execute(None, "b") == "Bnew"
    with pytest.raises(TemplateError, match='no template "zzz" associated with template "main"'):
        t.execute(None, "zzz")
    with pytest.raises(TemplateError, match="multiple definition of template"):
        parse('{{ define "x" }}1{{ end }}{{ define "x" }}2{{ end }}')
    with pytest.raises(TemplateError, match="exceeded maximum template depth"):
        parse('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" }}').execute(None)


def test_sprintf_directly() -> None:
    assert sprintf("%5.1f|%-4d|%s|%v", 3.14159, 7, "x", GoSlice([1, "a"])) == "  3.1|7   |x|[1 a]"
    assert sprintf("%d %d", 1) == "1 %!d(MISSING)"
    assert sprintf("%s", 1, 2) == "%!s(int=1)%!(EXTRA int=2)"
