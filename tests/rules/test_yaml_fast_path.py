"""opsctl.yamlutil's fast path (plain block YAML read from its lines) gives what the composer path gives:
the same values, positions, end marks and node count; and it steps aside for everything else."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from opsctl import yamlutil
from opsctl.yamlutil import DEFAULT_LIMITS, PosDict, PosList, loads_documents

ROOT = Path(__file__).resolve().parents[2]


def _full(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], dict[str, int]]:
    stats: dict[str, int] = {}
    with monkeypatch.context() as m:
        m.setattr(yamlutil, "_fast_documents", lambda *a: None)
        docs = loads_documents(text, "f", stats=stats)
    return docs, stats


def _same(a: Any, b: Any, path: str = "$") -> None:
    assert type(a) is type(b), path
    if isinstance(a, PosDict):
        assert (a.loc, a.end, list(a), a.info) == (b.loc, b.end, list(b), b.info), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, PosList):
        assert (a.loc, a.item_locs, len(a)) == (b.loc, b.item_locs, len(b)), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b or (a != a and b != b), path


def _check(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """True when the fast path took `text` (and agreed with the full path)."""
    stats: dict[str, int] = {}
    fast = yamlutil._fast_documents(text, "f", DEFAULT_LIMITS, stats)
    if fast is None:
        return False
    docs, full_stats = _full(text, monkeypatch)
    assert len(docs) == 1
    _same(fast[0], docs[0])
    assert stats == full_stats
    return True


RULES = """\
groups:
- name: a   # comment
  interval: 1m
  rules:
  # a comment line
  - alert: HighErrors
    expr: 'sum by (job) (rate(x{code=~"5.."}[5m])) > 0.05'
    for: 10m
    labels:
      severity: critical
      n: 1
      t: yes
    annotations:
      summary: "{{ $labels.job }} \\xB0C\\n  \\"quoted\\" \\u00e9"
      url: https://example.com/a:b#frag
  - record: job:x:rate5m
    expr: sum(rate(x[5m]))

- name: b
  rules:
    - alert: Other
      expr: up == 0
"""


def test_rule_file_takes_the_fast_path_and_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check(RULES, monkeypatch)
    doc = loads_documents(RULES)[0]
    rule = doc["groups"][0]["rules"][0]
    assert rule.end == (16, 3)  # the next item's dash, as libyaml's block end
    assert rule["labels"]["n"] == 1 and rule["labels"].text("t") == "yes"
    assert rule["annotations"]["summary"] == '{{ $labels.job }} \xb0C\n  "quoted" \xe9'


@pytest.mark.parametrize("text", [
    "a: 1\nb:\n  - x\n  - y\n",
    "a:\n- b: 1\n  c: 2\n- d\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3",  # no newline at the end
    "k: 'it''s'  # c\nm: \"\"\n",
    "1: a\ntrue: b\nnull: c\n1.0: d\n",  # keys that are not strings
    "a: -1\nb: 0x1F\nc: .inf\nd: 2001-12-14\ne: ~\n",
    "  a: 1\n  b: 2\n",  # an indented root
    "a:\n    - x: 1\n      y: 2\n# last\n\n",
    # double-quoted strings ending the line: plain, with the usual escapes, with others, with a quote inside
    'a: "x y"\nb: "l1\\nl2 \\"q\\""\nc: "tab\\tx"\nd: "a\\\\nb"\ne: "\\\\"\nf: "x" # "y"\ng: ""\n',
    "a: 1\n1: 1\nb: 5m\nc: 5m\nd:   5m\ne: true\n",  # scalars read once, reused as values and keys
    "a:\n  ...b: 1\n  c: ...\n",  # `...` ends a document only at the left margin
    # literal block scalars, as hand-written rule files hold their expressions: clip and strip chomping,
    # empty lines before, inside and after, deeper lines, `#` lines inside, a comment that ends one
    "a: |\n  x\n", "a: |-\n  x\n  y\nb: 1\n", "a: |\n\n\n    x\n\n      y\n\n\nb: |-\n  # not a comment\n  z\n",
    "- alert: A\n  expr: |\n    sum(x)\n      > 1\n# a comment\n  for: 5m\n- alert: B\n  expr: |-\n   y\n",
    "a:\n  b: |\n    x\n  # c\n  c: 1\nd: |\n x\n",
    # plain and single-quoted scalars over several lines, as PyYAML writes long and multi-line strings
    "a: x\n  y\n", "a: sum(x)\n  / sum(y)\n\n\n    > 0.5   \nb: 1\n", "- expr: 1\n    2\n  for: 5m\n",
    "a: 1\n  - b\n  ? c\n",
    "a: 'x > 1\n\n  and y''s\n\n\n  z   \n  '\nb: 'p\n   q'  # c\nc: '\n  #x\n   - y: 1\n  '\n",
    # double-quoted ones, with escapes and backslashes that drop a line break (PyYAML's 80-column output)
    "a: \"x\n  y\"\n",
    'd: "No jobs. All may have\\\n    \\ failed.\\n  VALUE = {{ $value }}\\n  LABELS = {{ $labels\\\n    \\ }}"\n',
    'd: "a  \\\n\n\n   b \\t\n\n  c\\x41  \n  \\"q\\" "  # c\ne: "\\\n  x"\nf: "\n\n  y\n  "\n',
])
def test_snippets_match(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check(text, monkeypatch)


@pytest.mark.parametrize("text", [
    "a: >\n  x\n", "a: |+\n  x\n", "a: |2\n  x\n", "a: | # c\n  x\n", "a: |\nb: 1\n", "a: |\n  \n  x\n",
    "a: |\n  x\n   \n  y\n", "a: |\n  x", "a: |\n  x\n\n  y", "- |\n  x\n", "a: |\n    x\n  y\n",
    "a: [1, 2]\n", "a: {b: 1}\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "a:\n", "a: 1\na: 2\n", "---\na: 1\n", "a: 1\n---\nb: 2\n", "a:\tb\n", "a: b\r\n", "a: é\n",
    "a: \"x\ny\"\n", 'a: "x \\ \n  y"\n', 'a: "x\\\n', "a: x # c\n  y\n", "a: x\n  y: 1\n", "a: x\n  # c\n  y\n",
    "a: 'x\ny'\n", "a: 'x\n  y' z\n",
    "<<: {a: 1}\n", "a: b: c\n", "a:\n  b: 1\n  # c", "a: \"\\q\"\n", "- - x\n", "-\n", "? a\n: b\n", "a: '\n",
    'a: "x\\"\n', 'a: "x"y"\n', 'a: "\\n\\"x" "\n',  # a quote escaped at the end, or left unescaped
    "a:\n  b: 1\na:\n  c: 2\n", "a:\n  b: 1\n  b:\n    c: 2\n",  # a key twice, with nested values
    "...: 1\n", "a: 1\n...b: 2\n", "a:\n  x: 1\n- b\n",
])
def test_the_rest_goes_the_full_way(text: str) -> None:
    assert yamlutil._fast_documents(text, "f", DEFAULT_LIMITS, None) is None


def test_rule_fixtures_and_corpus_match(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted([*ROOT.glob("tests/**/*.yml"), *ROOT.glob("tests/**/*.yaml"),
                    *(ROOT.parent / "shared" / "data" / "realrules").glob("**/*.yml")])
    taken = 0
    for f in files:
        try:
            text = yamlutil.read_text(f)
        except yamlutil.InputError:  # unreadable fixtures are for other tests
            continue
        taken += _check(text, monkeypatch)
    assert taken >= 50


VALUES = ["x", "1", "-1", "1.5", "true", "null", "~", "'q''x'", '"a\\nb"', "a # c", "a#b", "http://x:80/y",
          "foo:bar", "{{ $labels.x }}", '""', "a b  ", "a: b", "[1]", "&a x", "|", "-", "- x"]
KEYS = ["a", "b", "expr", "labels", "1", "true", "null", "a:b", "<<", "x.y", "a b", "'q'"]


def _random_doc(r: random.Random, depth: int, indent: int, out: list[str]) -> list[str]:
    seq = r.random() < 0.3
    pre = " " * indent
    for _ in range(r.randint(1, 4)):
        if r.random() < 0.05:
            out.append(pre + "# comment")
        if seq:
            out.append(pre + "- " + (r.choice(KEYS) + ": " if r.random() < 0.5 else "") + r.choice(VALUES))
        elif depth < 4 and r.random() < 0.35:
            out.append(pre + r.choice(KEYS) + ":" + r.choice(["", "  ", " # c"]))
            _random_doc(r, depth + 1, indent + r.choice([0, 1, 2, 2, 4]), out)
        elif r.random() < 0.1:  # a plain or single-quoted scalar over several lines, or not quite
            out.append(pre + r.choice(KEYS) + ": " + r.choice(
                ["x y", "'q r", "'s''", "1", "a #c", "'t'", '"d', '"e\\', '"f\\ ', '"\\t']))
            for _ in range(r.randint(1, 3)):
                out.append(r.choice(["", "  ", pre + r.choice(["  ", " ", ""]) + r.choice(
                    ["more", "- m", "k: v", "#c", "> 1", "u'", "v'' w", "x' # c", "'", "y #z", ":", "? q", '"', 'g\\',
                     '\\ h"', 'i\\"j', '\\x41 " # c', "k\\ "])]))
        elif r.random() < 0.15:  # a literal block scalar, now and then with lines the fast path leaves alone
            out.append(pre + r.choice(KEYS) + ": " + r.choice(["|", "|", "|-", "|+", "| # c", "|1"]))
            inner = " " * (indent + r.choice([0, 1, 2, 2, 4]))
            for _ in range(r.randint(0, 4)):
                out.append(r.choice(["", "", inner + "x y", inner + "# z", inner + "  deeper", inner, pre + " w"]))
        else:
            out.append(pre + r.choice(KEYS) + ": " + r.choice(VALUES) + r.choice(["", " ", " # c"]))
    return out


def test_random_documents_match(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = 0
    for seed in range(3000):
        r = random.Random(seed)
        text = "\n".join(_random_doc(r, 0, 0, [])) + r.choice(["\n", "", "\n\n", "\n# end"])
        try:
            taken += _check(text, monkeypatch)
        except yamlutil.InputError:
            pytest.fail(f"the fast path took YAML the full path refuses:\n{text}")
    assert taken >= 100
