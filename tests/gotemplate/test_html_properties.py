"""Property tests of html mode: random templates made of HTML fragments and actions either render or raise
TemplateError (never another exception), and alert data never reaches the output unescaped: a value
``<q>"'&`` comes out escaped (or dropped, or replaced by ZgotmplZ) in every context."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.gotemplate import TemplateError, parse

FRAGMENTS = [
    "<a href=\"", "<a href='", "<a href=", "\">", "'>", ">", "</a>", "<p title=\"", "<p title=", " class=",
    "<script>", "</script>", "<style>", "</style>", "<textarea>", "</textarea>", "<title>", "</title>", "<!-- ",
    " -->", "var x = ", "\"", "'", "`", "/", "/*", "*/", "//", "\n", "?q=", "#f", "color: ", "url(", ")", "=",
    " ", "<img src=\"", "<p style=\"", " onclick=\"", "a < b", "&amp;", "<b ", "{{ .V }}", "{{ .V }}",
    "{{ .V }}", "{{ .V | html }}", "{{ .V | urlquery }}", "{{ if .T }}", "{{ else }}", "{{ end }}",
    "{{ range .L }}", "{{ $x := .V }}", "{{ $x }}", "{{ len .L }}", "{{ .N }}",
]
PAYLOAD = "<q>\"'&"


@st.composite
def templates(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), max_size=14))
    text = "".join(parts)
    # keep if/range blocks balanced so that most texts parse
    opens = text.count("{{ if ") + text.count("{{ range ")
    return text + "{{ end }}" * max(0, opens - text.count("{{ end }}"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates())
def test_html_mode_escapes_or_fails_cleanly(text: str) -> None:
    try:
        t = parse(text, "p", html=True)
    except TemplateError:
        return
    try:
        out = t.execute({"V": PAYLOAD, "T": True, "L": [PAYLOAD, "b"], "N": 7})
    except TemplateError:
        return
    assert PAYLOAD not in out
    assert "<q>" not in out
