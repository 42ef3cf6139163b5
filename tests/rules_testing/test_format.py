"""Go-compatible formatting used in promtool-style messages."""

from __future__ import annotations

import math

import pytest

from opsctl.rules.testing_format import float_e, go_duration, go_quote, indent_lines, labels_string, model_duration


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1E+00"), (0.0, "0E+00"), (-0.0, "-0E+00"), (61.0, "6.1E+01"), (0.1, "1E-01"),
        (123456789.0, "1.23456789E+08"), (1e21, "1E+21"), (5e-324, "5E-324"), (-2.5, "-2.5E+00"),
        (9218880000.0, "9.21888E+09"), (1 / 3, "3.333333333333333E-01"), (math.nan, "NaN"),
        (math.inf, "+Inf"), (-math.inf, "-Inf"), (1e100, "1E+100"),
    ],
)
def test_float_e(value: float, text: str) -> None:
    assert float_e(value) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0s"), (500, "500ms"), (1500, "1.5s"), (60_000, "1m0s"), (3_600_000, "1h0m0s"), (179_999, "2m59.999s"),
     (90_061_000, "25h1m1s")],
)
def test_go_duration(ms: int, text: str) -> None:
    assert go_duration(ms) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0s"), (300_000, "5m"), (86_400_000, "1d"), (179_999, "2m59s999ms"), (7 * 86_400_000, "1w"),
     (8 * 86_400_000, "8d"), (365 * 86_400_000, "1y"), (9_218_880_000_000, "106700d"), (90_000, "1m30s")],
)
def test_model_duration(ms: int, text: str) -> None:
    assert model_duration(ms) == text


def test_quote_and_labels() -> None:
    assert go_quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert go_quote("é") == '"é"'
    assert go_quote("\x01") == '"\\x01"'
    assert labels_string({"b": "2", "__name__": "m", "a": "1"}) == '{__name__="m", a="1", b="2"}'
    assert labels_string({}) == "{}"


def test_indent_lines() -> None:
    assert indent_lines("a\nb\nc", "  ") == "a\n  b\n  c"
    assert indent_lines("a", "  ") == "a"
