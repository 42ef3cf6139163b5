# ruff: noqa: E501
"""Unit tests of the html/template port (``parse(..., html=True)``), one or more per context. Expected outputs
mirror Go 1.19 src/html/template/escape_test.go (TestEscape / TestErrors / TestEscapeText cases named in the
comments); the JS string escapes use the \\u00XX form the Go 1.19.8 build of Alertmanager emits (checked by
test_html_am_oracle.py)."""

from __future__ import annotations

from typing import Any

import pytest

from opsctl.gotemplate import TemplateError, parse
from opsctl.gotemplate.htmlcontext import Context, context_after_text
from opsctl.gotemplate.htmlescape import css_escaper, js_val_escaper, url_filter, url_normalizer
from opsctl.gotemplate.prometheus import HTML

DATA: dict[str, Any] = {"T": True, "F": False, "H": "<Hello>", "N": 42, "C": "red", "U": "javascript:alert(1)",
                        "A": ["<a>", "<b>"], "W": HTML("&iexcl;<b class=\"foo\">Hello</b>, <textarea>O'World</textarea>!")}

CASES = [  # (escape_test.go TestEscape case name, template, expected)
    ("nonStringValue", "{{.T}}", "true"),
    ("untypedNilValue", "{{.Missing}}", ""),
    ("constant", '<a href="/search?q={{"\'a<b\'"}}">', '<a href="/search?q=%27a%3cb%27">'),
    ("multipleAttrs", "<a b=1 c={{.H}}>", "<a b=1 c=&lt;Hello&gt;>"),
    ("urlStartRel", "<a href='{{\"/foo/bar?a=b&c=d\"}}'>", "<a href='/foo/bar?a=b&amp;c=d'>"),
    ("urlStartAbsOk", "<a href='{{\"http://example.com/foo/bar?a=b&c=d\"}}'>",
     "<a href='http://example.com/foo/bar?a=b&amp;c=d'>"),
    ("urlBadProtocol", '<a href="{{.U}}">', '<a href="#ZgotmplZ">'),
    ("urlPath", "<a href='http://{{\"javascript:80\"}}/foo'>", "<a href='http://javascript:80/foo'>"),
    ("urlQuery", "<a href='/search?q={{.H}}'>", "<a href='/search?q=%3cHello%3e'>"),
    ("urlFragment", "<a href='/faq#{{.H}}'>", "<a href='/faq#%3cHello%3e'>"),
    ("urlBranch", '<a href="{{if .F}}/foo?a=b{{else}}/bar{{end}}">', '<a href="/bar">'),
    ("jsStrValue", "<button onclick='alert({{.H}})'>", "<button onclick='alert(&#34;\\u003cHello\\u003e&#34;)'>"),
    ("jsNumericValue", "<button onclick='alert({{.N}})'>", "<button onclick='alert( 42 )'>"),
    ("jsBoolValue", "<button onclick='alert({{.T}})'>", "<button onclick='alert( true )'>"),
    ("jsNilValue", "<button onclick='alert(typeof{{.Missing}})'>", "<button onclick='alert(typeof null )'>"),
    ("jsObjValue", "<button onclick='alert({{.A}})'>",
     "<button onclick='alert([&#34;\\u003ca\\u003e&#34;,&#34;\\u003cb\\u003e&#34;])'>"),
    ("jsStr", "<button onclick='alert(&quot;{{.H}}&quot;)'>",
     "<button onclick='alert(&quot;\\u003cHello\\u003e&quot;)'>"),
    ("jsRe", "<button onclick='alert(/{{\"foo+bar\"}}/.test(\"\"))'>",
     "<button onclick='alert(/foo\\u002bbar/.test(\"\"))'>"),
    ("jsReBlank", '<script>alert(/{{""}}/.test(""));</script>', '<script>alert(/(?:)/.test(""));</script>'),
    ("styleBidiKeywordPassed", '<p style="dir: {{"ltr"}}">', '<p style="dir: ltr">'),
    ("styleExpressionBlocked", '<p style="width: {{"expression(alert(1337))"}}">', '<p style="width: ZgotmplZ">'),
    ("styleStrQueryEncoded", '<p style="background: url(/img?name={{"O\'Reilly Animal(1)<2>.png"}})">',
     '<p style="background: url(/img?name=O%27Reilly%20Animal%281%29%3c2%3e.png)">'),
    ("styleStrEncodedProtocolEncoded", '<a style="background: \'{{"javascript\\\\3a alert(1337)"}}\'">',
     '<a style="background: \'javascript\\\\3a alert\\28 1337\\29 \'">'),
    ("dynamic attribute name", '<img on{{"load"}}="alert({{"loaded"}})">', '<img onload="alert(&#34;loaded&#34;)">'),
    ("HTML comment", '<b>Hello, <!-- name of world -->{{"<Cincinnati>"}}</b>', "<b>Hello, &lt;Cincinnati&gt;</b>"),
    ("HTML comment not first < in text node.", "<<!-- -->!--", "&lt;!--"),
    ("Split HTML comment", '<b>Hello, <!-- name of {{if .T}}city -->{{"<Cincinnati>"}}{{else}}world -->'
     '{{"<Boston>"}}{{end}}</b>', "<b>Hello, &lt;Cincinnati&gt;</b>"),
    ("JS line comment", "<script>for (;;) { if (c()) break// foo not a label\nfoo({{.T}});}</script>",
     "<script>for (;;) { if (c()) break\nfoo( true );}</script>"),
    ("JS block comment", "<script>for (;;) { if (c()) break/* foo not a label */foo({{.T}});}</script>",
     "<script>for (;;) { if (c()) break foo( true );}</script>"),
    ("CSS comments", "<style>p// paragraph\n{border: 1px/* color */{{\"#00f\"}}}</style>",
     "<style>p\n{border: 1px #00f}</style>"),
    ("typed HTML in text", "{{.W}}", "&iexcl;<b class=\"foo\">Hello</b>, <textarea>O'World</textarea>!"),
    ("typed HTML in attribute", '<div title="{{.W}}">',
     '<div title="&iexcl;Hello, O&#39;World!">'),
    ("typed HTML in RCDATA", "<textarea>{{.W}}</textarea>",
     "<textarea>&iexcl;&lt;b class=&#34;foo&#34;&gt;Hello&lt;/b&gt;, &lt;textarea&gt;O&#39;World&lt;/textarea&gt;!</textarea>"),
    ("bad dynamic attribute name 1", '<input {{"onchange"}}="{{"doEvil()"}}">', '<input ZgotmplZ="doEvil()">'),
    ("dynamic element name", '<h{{3}}><table><t{{"head"}}>...</h{{3}}>', "<h3><table><thead>...</h3>"),
    ("optional attrs", '<img class="{{"iconClass"}}"{{if .T}} id="{{"<iconId>"}}"{{end}}'
     ' src="{{"?x"}}" alt="{{"<alt>"}}">', '<img class="iconClass" id="&lt;iconId&gt;" src="?x" alt="&lt;alt&gt;">'),
    ("escapeText <", "a < b {{.H}}", "a &lt; b &lt;Hello&gt;"),
    ("predefined html merged", "{{.H | html}}", "&lt;Hello&gt;"),
    ("predefined urlquery in query", '<a href="/?q={{.H | urlquery}}">', '<a href="/?q=%3CHello%3E">'),
    ("title is RCDATA", "<title>{{.H}}</title>", "<title>&lt;Hello&gt;</title>"),
    ("unquoted attr", "<a title={{.H}} class=x>", "<a title=&lt;Hello&gt; class=x>"),
    ("unquoted attr space", '<a title={{"a b=c"}}>', "<a title=a&#32;b&#61;c>"),
    ("range break", "<p>{{range .A}}<b>{{.}}</b>{{break}}{{end}}</p>", "<p><b>&lt;a&gt;</b></p>"),
    ("range continue", '{{range .A}}{{if eq . "<a>"}}{{continue}}{{end}}<i title="{{.}}">{{.}}</i>{{end}}',
     '<i title="&lt;b&gt;">&lt;b&gt;</i>'),
    ("range in attr", '<a class="{{range .A}}{{.}} {{end}}">', '<a class="&lt;a&gt; &lt;b&gt; ">'),
]


@pytest.mark.parametrize(("name", "text", "want"), CASES, ids=[c[0] for c in CASES])
def test_escape(name: str, text: str, want: str) -> None:
    assert parse(text, name, html=True).execute(DATA) == want


ERRORS = [  # escape_test.go TestErrors (message prefixes), position as Go prints it
    ("{{if .Cond}}<a{{end}}", "html/template:z:1:5: {{if}} branches end in different contexts"),
    ("{{if .Cond}}\n{{else}}\n<a{{end}}", "html/template:z:1:5: {{if}} branches end in different contexts"),
    ('<a href="{{if .F}}/foo?a={{else}}/bar/{{end}}{{.H}}">',
     "html/template:z:1:47: {{.H}} appears in an ambiguous context within a URL"),
    ("<a b=1 c={{.H}}", "html/template:z: ends in a non-text context: {stateAttr delimSpaceOrTagEnd"),
    ("<script>foo();", "html/template:z: ends in a non-text context: {stateJS"),
    ('<a href="{{.H}}', "html/template:z: ends in a non-text context: {stateURL delimDoubleQuote urlPartNone"),
    ("{{range .Items}}<a{{end}}", 'html/template:z:1: on range loop re-entry: "<" in attribute name: "<a"'),
    ('{{range .A}}<a href="{{if .}}{{break}}{{end}}">{{end}}',
     "html/template:z:1:31: at range loop break: {{range}} branches end in different contexts"),
    ('<a href="{{.H | html | urlquery}}">', 'html/template:z:1:11: predefined escaper "html" disallowed in template'),
    ("<a title={{.H | html}}>", 'html/template:z:1:11: predefined escaper "html" disallowed in template'),
    ("<script>var a = `{{.H}}`</script>", "html/template:z:1:19: {{.H}} appears in a JS template literal"),
    ('<input type=button value= onclick=>', 'html/template:z: "=" in unquoted attr: "onclick="'),
    ("<a=foo>", "html/template:z: expected space, attr name, or end of tag, but got \"=foo>\""),
    ('{{template "foo"}}', 'html/template:z:1:11: no such template "foo"'),
    ("<script>var x = 1/{{.N}}/2; var y = a {{.N}} / 2 /x/</script>", ""),
    ('<img srcset="{{.H}}">', "html/template:z:1:15: {{.H}} appears in a srcset attribute"),
]


@pytest.mark.parametrize(("text", "want"), ERRORS)
def test_errors(text: str, want: str) -> None:
    t = parse(text, "z", html=True)
    if not want:
        t.execute(DATA)  # no error
        return
    with pytest.raises(TemplateError) as ei:
        t.execute({"Cond": True, "Items": [1], **DATA})
    assert str(ei.value).startswith(want), str(ei.value)


def test_called_templates_get_derived_contexts() -> None:
    t = parse('{{define "v"}}{{.}}{{end}}<a href="/x?q={{template "v" .H}}" title="{{template "v" .H}}">'
              '{{template "v" .H}}</a>', "z", html=True)
    assert t.execute(DATA) == '<a href="/x?q=%3cHello%3e" title="&lt;Hello&gt;">&lt;Hello&gt;</a>'
    assert set(t._html_runner("z").trees) >= {"v", "v$htmltemplate_stateAttr_delimDoubleQuote"}
    assert parse("{{.H}}", "z").execute(DATA) == "<Hello>"  # text/template mode is unchanged


def test_escaper_functions() -> None:
    assert url_filter("javascript:x") == "#ZgotmplZ" and url_filter("MAILTO:a@b") == "MAILTO:a@b"
    assert url_filter("/a:b") == "/a:b"
    assert url_normalizer("a b%20é") == "a%20b%20%c3%a9"
    assert css_escaper("a;b") == "a\\3b b" and css_escaper("<") == "\\3c "
    assert js_val_escaper(1.5e-7) == " 1.5e-7 " and js_val_escaper(1e21) == " 1e+21 "
    assert js_val_escaper(float("nan")) == " /* json: unsupported value: NaN */null "
    assert js_val_escaper("a\u2028") == '"a\\u2028"'


def test_context_after_text() -> None:
    c, n = context_after_text(Context(), '<a href="')
    assert str(c) == "{stateTag delimNone urlPartNone jsCtxRegexp attrNone elementNone <nil>}" and n == 2
