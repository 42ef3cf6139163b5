"""Which alert templates need no parse at all: text and the plainest actions, which Go's parser always accepts.

Kept apart from the parser and the function tables so that `opsctl rules validate` can clear the usual
`{{ $labels.job }}` annotations without importing them (opsctl.gotemplate.prometheus takes a tenth of a
second to import). check_rule_template uses the same pattern; a test checks that the function names below
are exactly the plain functions both Prometheus's function table and Go's builtins define.
"""

from __future__ import annotations

import re

# humanize*, toUpper, ..., printf, index, len...: the functions a plain action may call (all known to every
# Prometheus version opsctl targets), longest first so that `humanize1024` is not read as `humanize`
PLAIN_FUNCS = ("humanizePercentage", "humanizeTimestamp", "humanizeDuration", "humanize1024", "reReplaceAll",
               "stripPort", "humanize", "toLower", "toUpper", "printf", "first", "index", "label", "print",
               "title", "value", "len")


def plainly_valid_pattern(funcs: tuple[str, ...] = PLAIN_FUNCS) -> re.Pattern[str]:
    """Templates made only of text and the plainest actions, which Go's parser always accepts.

    An action here is one pipeline: a variable or field (`$labels.x`, `$value`, `.Labels.x`, ...) or a call
    of a known function with such operands, plain strings or numbers as arguments, then `| function ...`
    stages; single spaces between words, no trim markers, comments, keywords, parentheses or escapes.
    Anything else goes to the full parser; tests/gotemplate check that every template matched here parses.
    """
    ident = r"[A-Za-z_][A-Za-z0-9_]*"
    operand = (rf"(?:\$labels(?:\.{ident})?|\$externalLabels(?:\.{ident})?|\$value|\$externalURL"
               rf"|\.Labels(?:\.{ident})?|\.ExternalLabels(?:\.{ident})?|\.Value|\.ExternalURL)(?![A-Za-z0-9_.])")
    arg = rf'(?:{operand}|"[^"\\{{}}\n]*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?![A-Za-z0-9_.]))'
    call = rf"(?:{'|'.join(funcs)})(?![A-Za-z0-9_.])(?: +{arg})*"
    action = rf"\{{\{{ *(?:{operand}|{call})(?: *\| *{call})* *\}}\}}"
    text = r"(?:[^{]|\{(?!\{))*"
    return re.compile(rf"{text}(?:{action}{text})*")


_PATTERN: list[re.Pattern[str]] = []


def plainly_valid(text: str) -> bool:
    """True when `text` certainly parses as an alert template (False: it may or may not; ask the parser)."""
    if "{{" not in text:
        return True
    if not _PATTERN:
        _PATTERN.append(plainly_valid_pattern())
    return _PATTERN[0].fullmatch(text) is not None
