"""The cheap pre-tests of the loader and the syntax gate answer as the regexes they stand for."""

from __future__ import annotations

import random

import pytest

from opsctl.rules import loader, syntax_gate

SAMPLES = [
    "rate(x[5m])", "x[5m * 2]", "x[ (5m) ]", "x offset (1h + 5m)", "x OFFSET-(1h)", "x @ (start())", "x @ 100",
    'x{a="[+]"}', "x[5m] offset 1h", "[", "]", "[+", "+]", "a[b[c+d]", "a[b]c+d]", "(offset", "@(", "x @ - (1)",
    'up{job="a" or job="b"}', "x[300s]", "x[99s]", "x[1000MS]", "x'OR", "`  Or", '"orx', "offset\t(",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_samples(text: str) -> None:
    assert loader._may_have_duration_expr(text) == bool(loader._MAY_HAVE_DURATION_EXPR.search(text))
    assert syntax_gate._hint_any(text) == bool(syntax_gate._HINT_ANY.search(text))


def test_random_texts() -> None:
    alphabet = list("[](){}+-*/%^@ offsetOFFSET5m123sms\"'`orORx\n\t.:")
    r = random.Random(7)
    for _ in range(30_000):
        text = "".join(r.choice(alphabet) for _ in range(r.randint(0, 30)))
        assert loader._may_have_duration_expr(text) == bool(loader._MAY_HAVE_DURATION_EXPR.search(text)), text
        assert syntax_gate._hint_any(text) == bool(syntax_gate._HINT_ANY.search(text)), text
