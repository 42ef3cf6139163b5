"""opsctl.gosem: Go regexps (semantics, error texts), strconv quoting and Go durations; property tests for the
parsers. The real tools' answers are in test_oracle_regex.py."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl import gosem
from opsctl.gosem import regexp as rx
from opsctl.gosem import strconv
from opsctl.gosem.durations import format_go_duration, parse_go_duration

# -- regexps ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "text", "want"), [
    ("a", "ab", False), ("a|ab", "ab", True), ("^a$", "a", True), ("a$", "a\n", False), (".*", "a\nb", False),
    ("(?s).*", "a\nb", True), ("\\d+", "١٢٣", False), ("\\d+", "123", True), ("\\s", "\u00a0", False),
    ("\\s", "\v", False), ("\\s", "\f", True), ("\\w+", "é", False), ("\\ba.*", "a", True),
    ("[[:alpha:]]+", "abc", True), ("[[:alpha:]]+", "a:c", False), ("\\pL+", "αβγ", True),
    ("\\p{Greek}+", "abc", False), ("(?i)k", "\u212a", True),
    ("foo(?i)bar", "fooBAR", True), ("foo(?i)bar", "FOObar", False), ("\\Q.\\E", "x", False), ("\\Q.\\E", ".", True),
    ("a{,2}", "a{,2}", True), ("(?U)a+", "aaa", True), ("(a+)+b", "a" * 5000, False), ("", "", True),
])
def test_anchored_matches(pattern: str, text: str, want: bool) -> None:
    assert rx.compile_prometheus(pattern).matches(text) is want
    assert rx.compile_anchored(pattern).matches(text) is want


def test_anchoring_quotes_the_anchored_expression_like_go() -> None:
    with pytest.raises(rx.RegexpError) as err:
        rx.compile_anchored("(")
    assert str(err.value) == "error parsing regexp: missing closing ): `^(?:()$`"
    assert rx.compile_anchored("a)(b").matches("a)(b") is False  # valid for Alertmanager: ^(?:a)(b)$
    with pytest.raises(rx.RegexpError, match=r"unexpected \): `a\)\(b`"):
        rx.compile_prometheus("a)(b")  # Prometheus also parses the value alone


@pytest.mark.parametrize(("pattern", "message"), [
    ("\\C", "invalid escape sequence: `\\C`"), ("(?<n>a)", "invalid or unsupported Perl syntax: `(?<`"),
    ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"), ("\\8", "invalid escape sequence: `\\8`"),
    ("a**", "invalid nested repetition operator: `**`"), ("*", "missing argument to repetition operator: `*`"),
    ("a{1001}", "invalid repeat count: `{1001}`"), ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
    ("\\", "trailing backslash at end of expression: ``"), ("[a", "missing closing ]: `[a`"),
])
def test_go_error_texts(pattern: str, message: str) -> None:
    with pytest.raises(rx.RegexpError) as err:
        rx.compile(pattern)
    assert str(err.value) == "error parsing regexp: " + message


def test_go_only_rules_do_not_trip_on_escaped_text() -> None:
    assert rx.match_string("\\Q\\C\\E", "\\C")
    assert rx.match_string("\\\\C", "\\C")
    assert rx.match_string("\\(?<", "(<")
    assert rx.compile("(?P<n>a)(?P<n>b)")  # duplicate names are allowed in Go


def test_unanchored_and_replace() -> None:
    assert rx.match_string("b", "abc") and not rx.match_string("^b", "abc")
    assert rx.replace_all_string("(\\w+)@(\\w+)", "$2 at ${1}", "me@host") == "host at me"
    assert rx.replace_all_string("a*", "-", "baaac") == "-b-c-"  # Go: empty match after a match is skipped
    assert rx.replace_all_string("(a)", "$01$1x", "a") == ""  # $01 has a leading zero, $1x names a group
    assert rx.replace_all_string("(a)", "${1}x", "a") == "ax"
    assert rx.quote_meta("a.b*c") == "a\\.b\\*c"


def test_lone_surrogates_read_as_replacement_char() -> None:
    assert rx.compile_anchored("a.b").matches("a\udcffb")
    assert rx.match_string("\\x{fffd}", "\udc80")


def test_memo_is_bounded() -> None:
    r = rx.AnchoredRegexp("x.*y")
    for i in range(rx._MEMO_SIZE + 10):
        r.matches(f"x{i}y")
    assert len(r._memo) <= rx._MEMO_SIZE
    assert r.matches("xay") and not r.matches("xa")


def test_redos_patterns_run_in_linear_time_in_a_subprocess() -> None:
    """`(a+)+b` over 50 000 characters: linear for RE2; a backtracking engine would not return for ages."""
    code = ("from opsctl.gosem import regexp as r; s = 'a' * 50000 + '!';"
            "assert not r.compile_prometheus('(a+)+b').matches(s); assert not r.match_string('^(a+)+$', s);"
            "assert not r.compile_anchored('(x+x+)+y').matches('x' * 50000)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr


REGEX_ALPHABET = st.sampled_from([*"ab.()[]{}|*+?^$\\:,0-9wdsSDWQEzCpL-<>=!P", "(?i)", "[[:alpha:]]", "\\pL"])


@settings(max_examples=400, deadline=None)
@given(st.lists(REGEX_ALPHABET, max_size=12).map("".join), st.text(alphabet="ab9 :\n.Aé", max_size=8))
def test_any_pattern_compiles_or_fails_with_go_text(pattern: str, text: str) -> None:
    try:
        anchored = rx.compile_anchored(pattern)
    except rx.RegexpError as exc:
        assert str(exc).startswith("error parsing regexp: ")
        return
    # the boolean fast path (no captures, memo, literal shortcuts) agrees with a capturing full match
    full = rx.compile("^(?:" + pattern + ")$").search(text) is not None
    assert anchored.matches(text) is full
    assert anchored.matches(text) is full  # memoised answer


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="abc_é", max_size=3), min_size=1, max_size=4), st.text("abc_é|", max_size=5))
def test_literal_shortcuts_agree_with_re2(alternatives: list[str], text: str) -> None:
    pattern = "|".join(alternatives)
    shortcut = rx.AnchoredRegexp(pattern)
    assert shortcut._literal is not None or shortcut._set is not None
    assert shortcut.matches(text) is (rx.compile("^(?:" + pattern + ")$").search(text) is not None)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["", ".*"]), st.text(alphabet="ab.\\", max_size=3), st.sampled_from(["", ".*"]),
       st.text(alphabet="ab.\n\\", max_size=6), st.booleans())
def test_affix_shortcuts_agree_with_re2(head: str, core: str, tail: str, text: str, dot_nl: bool) -> None:
    pattern = head + core + tail
    try:
        shortcut = rx.AnchoredRegexp(pattern, dot_nl=dot_nl)
    except rx.RegexpError:
        return
    want = rx.compile(("^(?s:" if dot_nl else "^(?:") + pattern + ")$").search(text) is not None
    assert shortcut.matches(text) is want


# -- strconv ----------------------------------------------------------------------------------------------


def test_quote_examples() -> None:
    assert strconv.quote('a"b\\c\n\t\x00é\u00a0\U0001F600\x7f') == '"a\\"b\\\\c\\n\\t\\x00é\\u00a0😀\\x7f"'
    assert strconv.quote("\udcff") == '"\\xff"'
    assert strconv.unquote('"\\xff"') == "\udcff"
    assert strconv.unquote('"\\u00e9\\101\\x41"') == "éAA"
    assert strconv.unquote("`a\\n\r`") == "a\\n"
    assert strconv.unquote("'é'") == "é"
    assert strconv.unquote_prometheus("'a\\'b'") == "a'b"
    assert strconv.unquote_prometheus("`a\r`") == "a\r"
    for bad in ['"a', '"\\q"', "'ab'", '"\\uD800"', '"\\400"', "`a`b`", '"a\nb"', "'\"'" + "x"]:
        with pytest.raises(strconv.ErrSyntax):
            strconv.unquote(bad)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_quote_unquote_round_trip(text: str) -> None:
    quoted = strconv.quote(text)
    assert quoted.isascii() or any(strconv.is_print(c) and not c.isascii() for c in quoted)
    if not any(0xD800 <= ord(c) <= 0xDC7F or 0xDD00 <= ord(c) <= 0xDFFF for c in text):
        assert strconv.unquote(quoted) == text
        assert strconv.unquote_prometheus(quoted) == text


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet='ab"\'`\\nxu0123456789fF', max_size=12), st.sampled_from(['"', "'", "`"]))
def test_unquote_never_crashes(body: str, q: str) -> None:
    for fn in (strconv.unquote, strconv.unquote_prometheus):
        try:
            out = fn(q + body + q)
        except strconv.ErrSyntax:
            continue
        assert isinstance(out, str)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_prometheus_unquote_of_json_strings(text: str) -> None:
    """A JSON string literal without \\/ or \\u escapes of surrogates is a Go string literal."""
    import json

    lit = json.dumps(text, ensure_ascii=False).replace("\\/", "/")
    assert strconv.unquote_prometheus(lit) == text


# -- durations --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("1s", 10**9), ("-1.5h", -5400 * 10**9), ("+300ms", 300 * 10**6), ("1h2m3.5s", 3723500 * 10**6),
    ("1µs", 1000), ("1μs", 1000), ("1us", 1000), ("5ns", 5), (".5s", 5 * 10**8), ("1.s", 10**9),
    ("2562047h47m16.854775807s", 2**63 - 1), ("-2562047h47m16.854775808s", -(2**63)),
])
def test_parse_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("", 'time: invalid duration ""'), ("1", 'time: missing unit in duration "1"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'), (".s", 'time: invalid duration ".s"'),
    ("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
    ("1é", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'), ("-", 'time: invalid duration "-"'),
])
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_go_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_500_000, "1.5ms"), (10**9, "1s"), (3600 * 10**9, "1h0m0s"),
    (-90 * 10**9, "-1m30s"), (3723500 * 10**6, "1h2m3.5s"), (2**63 - 1, "2562047h47m16.854775807s"),
    (-(2**63), "-2562047h47m16.854775808s"),
])
def test_format_go_duration(ns: int, text: str) -> None:
    assert format_go_duration(ns) == text


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_format_parse_round_trip(ns: int) -> None:
    assert parse_go_duration(format_go_duration(ns)) == ns


_DURATION_SHAPE = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.+-nsuµμmhd", max_size=12))
def test_parse_go_duration_accepts_exactly_go_grammar(text: str) -> None:
    try:
        ns = parse_go_duration(text)
    except ValueError as exc:
        assert str(exc).startswith("time: ")
        if _DURATION_SHAPE.fullmatch(text):  # in the grammar: only out of range may fail
            assert "invalid duration" in str(exc)
        return
    assert _DURATION_SHAPE.fullmatch(text), text
    assert -(2**63) <= ns <= 2**63 - 1


def test_package_exports() -> None:
    assert gosem.parse_duration("1h30m") == 5400.0  # Prometheus model durations, re-exported
    assert gosem.format_duration(5400.0) == "1h30m"
    assert gosem.compile_regexp is rx.compile
