"""Alertmanager matcher parser (pkg/labels/parse.go) and Go-regexp translation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.matchers import (
    MatcherError,
    MatchType,
    compile_go_regex,
    parse_matcher,
    parse_matchers,
)


@pytest.mark.parametrize(("text", "expected"), [
    ('{foo = "bar", dings != "bums", }', ['foo="bar"', 'dings!="bums"']),
    ("foo=bar,dings!=bums", ['foo="bar"', 'dings!="bums"']),
    ('{quote="She said: \\"Hi, ladies!\\""}', ['quote="She said: \\"Hi, ladies!\\""']),
    ('statuscode=~"5.."', ['statuscode=~"5.."']),
    ("foo=", ['foo=""']),
    ('a="x\\ny"', ['a="x\\ny"']),
    ("a=b\\c", ['a="b\\\\c"']),  # spurious escape kept literally
    ("trailing=\\", ['trailing="\\\\"']),
])
def test_parse_examples(text: str, expected: list[str]) -> None:
    assert [str(m) for m in parse_matchers(text)] == expected


@pytest.mark.parametrize("text", ["foo", '1a="b"', 'a="b', 'a="b"c"', 'a=~"(b"', 'a=~"(?=x)"', 'a=~"x**"',
                                  'a=~"a{1001}"', 'a=~"\\\\1"'])
def test_parse_errors(text: str) -> None:
    with pytest.raises(MatcherError):
        parse_matchers(text)


def test_regex_semantics_like_go() -> None:
    m = parse_matcher('a=~"x$"')
    assert m.matches("x") and not m.matches("x\n")  # Go's $ is end of text
    assert parse_matcher('a=~"(?i)web|db"').matches("DB")  # flags hold for later alternatives
    assert parse_matcher('a=~"[[:digit:]]+"').matches("123")
    assert not parse_matcher('a=~"\\\\d"').matches("\u0663")  # \d is ASCII in Go
    assert parse_matcher('a=~"x{,2}"').matches("x{,2}")  # not a repeat in Go
    assert parse_matcher('a=~"\\\\Qa.b\\\\E"').matches("a.b")
    assert not parse_matcher('a=~"\\\\Qa.b\\\\E"').matches("axb")
    assert parse_matcher('a!~"b"').matches("") and parse_matcher('a=""').matches("")


label = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)
value = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(label, st.sampled_from(["=", "!="]), value)
def test_roundtrip(name: str, op: str, val: str) -> None:
    m = parse_matcher(name + op + '"' + val.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"')
    assert (m.name, m.type, m.value) == (name, MatchType(op), val)
    again = parse_matchers("{" + str(m) + "}")
    assert [(x.name, x.type, x.value) for x in again] == [(name, MatchType(op), val)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_parser_never_crashes(text: str) -> None:
    try:
        parse_matchers(text)
    except MatcherError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab()[]{}|*+?.^$\\:,0-9wdsiQEz-", max_size=15))
def test_regex_translation_never_crashes(pattern: str) -> None:
    try:
        compile_go_regex("^(?:" + pattern + ")$")
    except MatcherError:
        pass
