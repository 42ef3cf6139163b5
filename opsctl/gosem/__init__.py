"""Go semantics in one place, for every area that mirrors a Go program (Prometheus, Alertmanager, pint,
sloth): RE2 regular expressions with Go's behaviour and error texts (`gosem.regexp`), Go string quoting
(`gosem.strconv`) and Go durations (`gosem.durations`). Prometheus keeps its regex rules in one place
(`model/labels/regexp.go`); so does opsctl. Never use Python's `re` for a pattern a user wrote.

Part of the shared ground: imports nothing from the area packages. See docs/gosem.md.
"""

from opsctl.gosem.durations import format_duration, format_go_duration, parse_duration, parse_go_duration
from opsctl.gosem.regexp import (
    AnchoredRegexp,
    RegexpError,
    compile_anchored,
    compile_prometheus,
    expand,
    match_string,
    quote_meta,
    replace_all_string,
)
from opsctl.gosem.regexp import compile as compile_regexp
from opsctl.gosem.strconv import ErrSyntax, is_print, quote, unquote, unquote_char, unquote_prometheus

__all__ = [
    "AnchoredRegexp", "ErrSyntax", "RegexpError", "compile_anchored", "compile_prometheus", "compile_regexp",
    "expand", "format_duration", "format_go_duration", "is_print", "match_string", "parse_duration",
    "parse_go_duration", "quote", "quote_meta", "replace_all_string", "unquote", "unquote_char",
    "unquote_prometheus",
]
