"""Prometheus 2.42's parse errors, as promtool prints them (`1:4: parse error: unexpected end of input`).

promql-parser (the Rust parser opsctl evaluates with) answers most syntax errors with a bare "invalid
promql query" and accepts a few things Prometheus 2.42 rejects (`x @ 6m`). `syntax_error(expr)` runs a
port of Prometheus' lexer (promql/parser/lex.go) and a recursive-descent reading of its grammar
(generated_parser.y) to find the first error Prometheus reports and its text: lexer errors (unexpected
characters, unterminated strings, unclosed brackets), syntax errors with the grammar's contexts
("in grouping opts, expected ...", "in offset, expected duration", "in @, expected timestamp", "in label
matching, ...", "in aggregation", "in subquery selector, ...") and unknown function names. Type errors
(a range vector where an instant vector is expected, ...) are left to promql-parser.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["at_duration_error", "syntax_error"]

_AGGREGATORS = {"avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev", "stdvar",
                "sum", "topk"}
_KEYWORDS = {"bool", "by", "group_left", "group_right", "ignoring", "offset", "on", "without"}
_SET_OPS = {"and": "LAND", "or": "LOR", "unless": "LUNLESS"}
# Prometheus 2.42's functions (promql/parser/functions.go).
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
    "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "days_in_month",
    "day_of_month", "day_of_week", "day_of_year", "deg", "delta", "deriv", "exp", "floor", "histogram_count",
    "histogram_sum", "histogram_fraction", "histogram_quantile", "holt_winters", "hour", "idelta", "increase",
    "irate", "label_replace", "label_join", "last_over_time", "ln", "log10", "log2", "max_over_time",
    "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time",
    "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt",
    "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector",
    "year",
}
# Tokens Prometheus describes by their text ("<op:*>", `"("`) rather than by kind and text.
_OPERATORS = {"ADD": "+", "SUB": "-", "MUL": "*", "DIV": "/", "MOD": "%", "POW": "^", "EQLC": "==", "NEQ": "!=",
              "LTE": "<=", "LSS": "<", "GTE": ">=", "GTR": ">", "EQL_REGEX": "=~", "NEQ_REGEX": "!~", "AT": "@",
              "LAND": "and", "LOR": "or", "LUNLESS": "unless", "ATAN2": "atan2"}
_PUNCT = {"LEFT_PAREN", "RIGHT_PAREN", "LEFT_BRACE", "RIGHT_BRACE", "LEFT_BRACKET", "RIGHT_BRACKET", "COMMA",
          "EQL", "COLON"}
_BINARY = {"ADD", "SUB", "MUL", "DIV", "MOD", "POW", "EQLC", "NEQ", "LTE", "LSS", "GTE", "GTR", "LAND", "LOR",
           "LUNLESS", "ATAN2"}
# Keywords the grammar also takes as a metric name (metric_identifier) or a label (maybe_label).
_AS_METRIC = {"IDENTIFIER", "METRIC_IDENTIFIER", "LAND", "LOR", "LUNLESS", "BY", "WITHOUT", "OFFSET", "START",
              "END"}
# the tokens an expression can start with (primary() and unary())
_STARTS = {"NUMBER", "STRING", "LEFT_PAREN", "AGGR", "LEFT_BRACE", "ADD", "SUB", *_AS_METRIC}
_AS_LABEL = {"IDENTIFIER", "METRIC_IDENTIFIER", "LAND", "LOR", "LUNLESS", "BOOL", "BY", "GROUP_LEFT",
             "GROUP_RIGHT", "IGNORING", "OFFSET", "ON", "WITHOUT", "START", "END", "ATAN2", "AGGR"}


@dataclass
class _Tok:
    typ: str
    pos: int  # byte offset
    val: str


class _Error(Exception):
    def __init__(self, pos: int, msg: str) -> None:
        super().__init__(msg)
        self.pos, self.msg = pos, msg


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _go_quote_rune(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    q = _go_quote(ch)[1:-1]
    return "'" + ('"' if q == '\\"' else q) + "'"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or _is_digit(c)


class _Lexer:
    """promql/parser/lex.go (expressions only). Positions are byte offsets, as Go's."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.offsets = [0]
        for c in text:
            self.offsets.append(self.offsets[-1] + len(c.encode("utf-8")))
        self.i = 0  # rune index
        self.start = 0
        self.paren = 0
        self.brace = False
        self.bracket = False
        self.colon = False
        self._looked = False
        self.toks: list[_Tok] = []

    def byte(self, i: int) -> int:
        return self.offsets[i]

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        c = self.peek()
        if c:
            self.i += 1
        return c

    def accept(self, chars: str) -> bool:
        c = self.peek()
        if c and c in chars:
            self.i += 1
            return True
        return False

    def emit(self, typ: str) -> None:
        self.toks.append(_Tok(typ, self.byte(self.start), self.s[self.start : self.i]))
        self.start = self.i

    def error(self, msg: str) -> list[_Tok]:
        self.toks.append(_Tok("ERROR", self.byte(self.start), msg))
        return self.toks

    def run(self) -> list[_Tok]:
        while True:
            if self.brace:
                if self._inside_braces():
                    return self.toks
                continue
            if self.s.startswith("#", self.i):
                while self.peek() not in ("", "\n"):
                    self.i += 1
                self.start = self.i
                continue
            c = self.next()
            if c == "":
                if self.paren:
                    return self.error("unclosed left parenthesis")
                if self.bracket:
                    return self.error("unclosed left bracket")
                self.emit("EOF")
                return self.toks
            if c in " \t\n\r":
                while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
                    self.i += 1
                self.start = self.i
            elif c in ",*/%+-^@":
                self.emit({",": "COMMA", "*": "MUL", "/": "DIV", "%": "MOD", "+": "ADD", "-": "SUB", "^": "POW",
                           "@": "AT"}[c])
            elif c == "=":
                t = self.peek()
                if t == "=":
                    self.next()
                    self.emit("EQLC")
                elif t == "~":
                    return self.error(f"unexpected character after '=': {_go_quote_rune(t)}")
                else:
                    self.emit("EQL")
            elif c == "!":
                t = self.next()
                if t == "=":
                    self.emit("NEQ")
                else:
                    return self.error(f"unexpected character after '!': {_go_quote_rune(t) if t else 'EOF'}")
            elif c in "<>":
                if self.peek() == "=":
                    self.next()
                    self.emit("LTE" if c == "<" else "GTE")
                else:
                    self.emit("LSS" if c == "<" else "GTR")
            elif _is_digit(c) or (c == "." and _is_digit(self.peek())):
                self.i -= 1
                if self._number_or_duration():
                    return self.toks
            elif c in "\"'":
                if self._string(c):
                    return self.toks
            elif c == "`":
                if self._raw_string():
                    return self.toks
            elif _is_alpha(c) or c == ":":
                if not self.bracket:
                    self.i -= 1
                    self._keyword_or_identifier()
                    continue
                if self.colon:
                    return self.error(f"unexpected colon {_go_quote_rune(c)}")
                self.emit("COLON")
                self.colon = True
            elif c == "(":
                self.emit("LEFT_PAREN")
                self.paren += 1
            elif c == ")":
                self.emit("RIGHT_PAREN")
                self.paren -= 1
                if self.paren < 0:  # Go's errorf overwrites the item just emitted
                    self.toks.pop()
                    return self.error("unexpected right parenthesis ')'")
            elif c == "{":
                self.emit("LEFT_BRACE")
                self.brace = True
            elif c == "[":
                if self.bracket:
                    return self.error("unexpected left bracket '['")
                self.colon = False
                self.emit("LEFT_BRACKET")
                while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
                    self.i += 1
                self.start = self.i
                self.bracket = True
                if self._duration():
                    return self.toks
            elif c == "]":
                if not self.bracket:
                    return self.error("unexpected right bracket ']'")
                self.emit("RIGHT_BRACKET")
                self.bracket = False
            else:
                return self.error(f"unexpected character: {_go_quote_rune(c)}")

    def _inside_braces(self) -> bool:
        """One step inside braces; True when lexing ended (error)."""
        if self.s.startswith("#", self.i):
            while self.peek() not in ("", "\n"):
                self.i += 1
            self.start = self.i
            return False
        c = self.next()
        if c == "":
            self.error("unexpected end of input inside braces")
            return True
        if c in " \t\n\r":
            while self.peek() in (" ", "\t", "\n", "\r") and self.peek():
                self.i += 1
            self.start = self.i
        elif _is_alpha(c):
            while _is_alnum(self.peek()):
                self.i += 1
            self.emit("IDENTIFIER")
        elif c == ",":
            self.emit("COMMA")
        elif c in "\"'":
            return self._string(c)
        elif c == "`":
            return self._raw_string()
        elif c == "=":
            if self.peek() == "~":
                self.next()
                self.emit("EQL_REGEX")
            else:
                self.emit("EQL")
        elif c == "!":
            nr = self.next()
            if nr == "~":
                self.emit("NEQ_REGEX")
            elif nr == "=":
                self.emit("NEQ")
            else:
                self.error(f"unexpected character after '!' inside braces: {_go_quote_rune(nr) if nr else 'EOF'}")
                return True
        elif c == "{":
            self.error("unexpected left brace '{'")
            return True
        elif c == "}":
            self.emit("RIGHT_BRACE")
            self.brace = False
        else:
            self.error(f"unexpected character inside braces: {_go_quote_rune(c)}")
            return True
        return False

    def _string(self, quote: str) -> bool:
        while True:
            c = self.next()
            if c == "\\":
                e = self.next()
                if e in ("", "\n"):
                    self.error("escape sequence not terminated")
                    return True
                if e in "abfnrtv\\" + quote:
                    continue
                n, base, maxv = {"x": (2, 16, 255), "u": (4, 16, 0x10FFFF), "U": (8, 16, 0x10FFFF)}.get(
                    e, (3, 8, 255) if "0" <= e <= "7" else (0, 0, 0))
                if n == 0:
                    self.error(f"unknown escape sequence U+{ord(e):04X} {_go_quote_rune(e)}")
                    return True
                if base == 8:
                    self.i -= 1
                digits = ""
                for _ in range(n):
                    d = self.next()
                    if d == "" or d not in "0123456789abcdefABCDEF"[: base if base == 16 else 8]:
                        if d in ("", "\n"):
                            self.error("escape sequence not terminated")
                        else:
                            self.error(f"illegal character U+{ord(d):04X} {_go_quote_rune(d)} in escape sequence")
                        return True
                    digits += d
                x = int(digits, base)
                if x > maxv or 0xD800 <= x < 0xE000:
                    self.error("escape sequence is an invalid Unicode code point")
                    return True
            elif c in ("", "\n"):
                self.error("unterminated quoted string")
                return True
            elif c == quote:
                self.emit("STRING")
                return False

    def _raw_string(self) -> bool:
        while True:
            c = self.next()
            if c == "":
                self.error("unterminated raw string")
                return True
            if c == "`":
                self.emit("STRING")
                return False

    def _scan_number(self) -> bool:
        digits = "0123456789"
        if self.accept("0") and self.accept("xX"):
            digits = "0123456789abcdefABCDEF"
        while self.accept(digits):
            pass
        if self.accept("."):
            while self.accept(digits):
                pass
        if self.accept("eE"):
            self.accept("+-")
            while self.accept("0123456789"):
                pass
        return not _is_alnum(self.peek())

    def _remaining_duration(self) -> bool:
        """acceptRemainingDuration: on success the caller backs up over the character looked at."""
        if not self.accept("nsuµmhdwy"):
            return False
        self.accept("s")
        while self.accept("0123456789"):
            while self.accept("0123456789"):
                pass
            if not self.accept("nsuµmhdw"):
                return False
            self.accept("s")
        c = self.next()
        self._looked = bool(c)
        return not _is_alnum(c) if c else True

    def _backup_looked(self) -> None:
        if self._looked:
            self.i -= 1

    def _number_or_duration(self) -> bool:
        if self._scan_number():
            self.emit("NUMBER")
            return False
        if self._remaining_duration():
            self._backup_looked()
            self.emit("DURATION")
            return False
        self.error(f"bad number or duration syntax: {_go_quote(self.s[self.start : self.i])}")
        return True

    def _duration(self) -> bool:
        if self._scan_number():
            self.error("missing unit character in duration")
            return True
        if not self._remaining_duration():
            self.error(f"bad duration syntax: {_go_quote(self.s[self.start : self.i])}")
            return True
        self._backup_looked()
        self.emit("DURATION")
        return False

    def _keyword_or_identifier(self) -> None:
        while _is_alnum(self.peek()) or self.peek() == ":":
            self.i += 1
        word = self.s[self.start : self.i].lower()
        if word in _AGGREGATORS:
            self.emit("AGGR")
        elif word in _KEYWORDS:
            self.emit(word.upper())
        elif word in _SET_OPS:
            self.emit(_SET_OPS[word])
        elif word == "atan2":
            self.emit("ATAN2")
        elif word in ("inf", "nan"):
            self.emit("NUMBER")
        elif word in ("start", "end"):
            self.emit(word.upper())
        elif ":" in word:
            self.emit("METRIC_IDENTIFIER")
        else:
            self.emit("IDENTIFIER")


def _desc(t: _Tok) -> str:
    """Item.desc() of Prometheus' parser."""
    if t.typ == "EOF":
        return "end of input"
    if t.typ in _OPERATORS:
        return f"<op:{t.val}>"
    if t.typ in _PUNCT:
        return _go_quote(t.val)
    if t.typ in _KEYWORDS_T:
        return f"<{t.val}>"
    if t.typ == "AGGR":
        return f"<aggr:{t.val}>"
    kind = {"IDENTIFIER": "identifier", "METRIC_IDENTIFIER": "metric identifier", "STRING": "string",
            "NUMBER": "number", "DURATION": "duration"}.get(t.typ, t.typ)
    if t.typ in ("IDENTIFIER", "METRIC_IDENTIFIER"):
        return f"{kind} {_go_quote(t.val)}"
    if len(t.val) > 10:
        return f"{kind} {_go_quote(t.val[:10])}..."
    return f"{kind} {_go_quote(t.val)}"


_KEYWORDS_T = {k.upper() for k in _KEYWORDS}


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.k = 0
        self.aggregations = 0  # the aggregations whose arguments are being read

    @property
    def tok(self) -> _Tok:
        return self.toks[min(self.k, len(self.toks) - 1)]

    def advance(self) -> _Tok:
        t = self.tok
        if t.typ == "ERROR":
            raise _Error(t.pos, t.val)
        self.k += 1
        self.check_lex()
        return t

    def check_lex(self) -> None:
        if self.tok.typ == "ERROR":
            raise _Error(self.tok.pos, self.tok.val)

    def unexpected(self, context: str = "", expected: str = "") -> _Error:
        self.check_lex()
        msg = "unexpected " + _desc(self.tok)
        if not context and self.aggregations:
            # the grammar's error rule for an aggregation catches what goes wrong at any depth of its arguments
            # (`sum(abs(x > ,))`: unexpected "," in aggregation), where no inner rule has a context of its own
            context = "aggregation"
        if context:
            msg += " in " + context
        if expected:
            msg += ", expected " + expected
        return _Error(self.tok.pos, msg)

    def parse(self) -> None:
        self.check_lex()
        if self.tok.typ == "EOF":
            raise _Error(self.tok.pos, "no expression found in input")
        self.expr()
        if self.tok.typ != "EOF":
            raise self.unexpected()

    def expr(self) -> None:
        self.unary()
        while self.tok.typ in _BINARY:
            self.advance()
            if self.tok.typ == "BOOL":
                self.advance()
            if self.tok.typ in ("ON", "IGNORING"):
                self.advance()
                self.grouping_labels()
                if self.tok.typ in ("GROUP_LEFT", "GROUP_RIGHT"):
                    self.advance()
                    if self.tok.typ == "LEFT_PAREN":
                        self.grouping_labels()
            self.unary()

    def unary(self) -> None:
        if self.tok.typ in ("ADD", "SUB"):
            self.advance()
            self.unary()
            return
        self.primary()
        self.postfix()

    def postfix(self) -> None:
        while True:
            t = self.tok.typ
            if t == "LEFT_BRACKET":
                self.advance()
                if self.tok.typ != "DURATION":
                    raise self.unexpected("subquery selector", "duration")
                _check_duration(self.advance())
                if self.tok.typ == "RIGHT_BRACKET":
                    self.advance()
                    continue
                if self.tok.typ != "COLON":
                    raise self.unexpected("subquery or range", '":" or "]"')
                self.advance()
                if self.tok.typ == "DURATION":
                    _check_duration(self.advance())
                    if self.tok.typ != "RIGHT_BRACKET":
                        raise self.unexpected("subquery selector", '"]"')
                elif self.tok.typ != "RIGHT_BRACKET":
                    raise self.unexpected("subquery selector", 'duration or "]"')
                self.advance()
            elif t == "OFFSET":
                self.advance()
                if self.tok.typ == "SUB":
                    self.advance()
                if self.tok.typ != "DURATION":
                    raise self.unexpected("offset", "duration")
                _check_duration(self.advance())
            elif t == "AT":
                self.advance()
                if self.tok.typ in ("ADD", "SUB"):
                    self.advance()
                    if self.tok.typ != "NUMBER":
                        raise self.unexpected("@", "timestamp")
                    _check_number(self.advance())
                elif self.tok.typ == "NUMBER":
                    _check_number(self.advance())
                elif self.tok.typ in ("START", "END"):
                    self.advance()
                    if self.tok.typ != "LEFT_PAREN":
                        raise self.unexpected("@", "timestamp")
                    self.advance()
                    if self.tok.typ != "RIGHT_PAREN":
                        raise self.unexpected("@", "timestamp")
                    self.advance()
                else:
                    raise self.unexpected("@", "timestamp")
            else:
                return

    def primary(self) -> None:
        t = self.tok
        if t.typ == "NUMBER":
            _check_number(t)
            self.advance()
        elif t.typ == "STRING":
            self.advance()
        elif t.typ == "LEFT_PAREN":
            self.advance()
            self.expr()
            if self.tok.typ != "RIGHT_PAREN":
                raise self.unexpected()
            self.advance()
        elif t.typ == "AGGR":
            self.advance()
            if self.tok.typ not in ("BY", "WITHOUT", "LEFT_PAREN"):  # a metric named like an aggregation
                if self.tok.typ == "LEFT_BRACE":
                    self.matchers()
                return
            if self.tok.typ in ("BY", "WITHOUT"):
                self.advance()
                self.grouping_labels()
                if self.tok.typ != "LEFT_PAREN":
                    raise self.unexpected("aggregation")
                self.call_body(aggregation=True)
            elif self.tok.typ == "LEFT_PAREN":
                self.call_body(aggregation=True)
                if self.tok.typ in ("BY", "WITHOUT"):
                    self.advance()
                    self.grouping_labels()
            else:
                raise self.unexpected("aggregation")
        elif t.typ == "IDENTIFIER" and self.toks[self.k + 1].typ == "LEFT_PAREN":
            self.advance()
            self.call_body()
            if t.val not in FUNCTIONS:
                raise _Error(t.pos, f"unknown function with name {_go_quote(t.val)}")
        elif t.typ in _AS_METRIC:
            self.advance()
            if self.tok.typ == "LEFT_BRACE":
                self.matchers()
        elif t.typ == "LEFT_BRACE":
            self.matchers()
        else:
            raise self.unexpected()

    def call_body(self, aggregation: bool = False) -> None:
        self.advance()  # (
        if self.tok.typ == "RIGHT_PAREN":
            self.advance()
            return
        self.aggregations += aggregation
        while True:
            self.expr()
            if self.tok.typ == "COMMA":
                comma = self.advance()
                if self.tok.typ not in _STARTS:  # `f(x, )`, `f(x, 1h)`: the grammar's rule for a trailing comma
                    self.check_lex()
                    raise _Error(comma.pos, "trailing commas not allowed in function call args")
                continue
            if self.tok.typ != "RIGHT_PAREN":
                raise self.unexpected()
            self.advance()
            self.aggregations -= aggregation
            return

    def grouping_labels(self) -> None:
        if self.tok.typ != "LEFT_PAREN":
            raise self.unexpected("grouping opts", '"("')
        self.advance()
        if self.tok.typ == "RIGHT_PAREN":
            self.advance()
            return
        while True:
            t = self.tok
            if t.typ not in _AS_LABEL or t.typ == "METRIC_IDENTIFIER" or not _is_label(t.val):
                raise self.unexpected("grouping opts", "label")
            self.advance()
            if self.tok.typ == "RIGHT_PAREN":
                self.advance()
                return
            if self.tok.typ != "COMMA":
                raise self.unexpected("grouping opts", '"," or ")"')
            self.advance()
            if self.tok.typ == "RIGHT_PAREN":
                self.advance()
                return

    def matchers(self) -> None:
        self.advance()  # {
        if self.tok.typ == "RIGHT_BRACE":
            self.advance()
            return
        while True:
            if self.tok.typ != "IDENTIFIER":
                raise self.unexpected("label matching", 'identifier or "}"')
            self.advance()
            if self.tok.typ not in ("EQL", "NEQ", "EQL_REGEX", "NEQ_REGEX"):
                raise self.unexpected("label matching", "label matching operator")
            self.advance()
            if self.tok.typ != "STRING":
                raise self.unexpected("label matching", "string")
            self.advance()
            if self.tok.typ == "RIGHT_BRACE":
                self.advance()
                return
            if self.tok.typ != "COMMA":
                raise self.unexpected("label matching", '"," or "}"')
            self.advance()
            if self.tok.typ == "RIGHT_BRACE":
                self.advance()
                return


_DURATION_RE = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_INT_RE = re.compile(r"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(r"^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _check_duration(t: _Tok) -> None:
    """model.ParseDuration of Prometheus 2.42."""
    if t.val == "" or not _DURATION_RE.match(t.val):
        raise _Error(t.pos, f"not a valid duration string: {_go_quote(t.val)}")


def _check_number(t: _Tok) -> None:
    """strconv.ParseInt(s, 0, 64), else strconv.ParseFloat(s, 64), as the parser's parseNumber."""
    s = t.val
    if s.lower() in ("inf", "nan") or _INT_RE.match(s):
        return
    if not _FLOAT_RE.match(s):
        raise _Error(t.pos, f"error parsing number: strconv.ParseFloat: parsing {_go_quote(s)}: invalid syntax")
    if math.isinf(float(s)):
        raise _Error(t.pos, f"error parsing number: strconv.ParseFloat: parsing {_go_quote(s)}: value out of range")


def _is_label(s: str) -> bool:
    return bool(s) and (_is_alpha(s[0])) and all(_is_alnum(c) for c in s)


def _position(text: str, pos: int) -> str:
    data = text.encode("utf-8")
    if pos < 0 or pos > len(data):
        return "invalid position:"
    before = data[:pos]
    line = before.count(b"\n") + 1
    col = pos - before.rfind(b"\n")  # rfind is -1 without a line break: col = pos + 1
    return f"{line}:{col}:"


def syntax_error(text: str) -> str | None:
    """Prometheus 2.42's parse error for `text` (`1:5: parse error: ...`), or None when its lexer and
    grammar accept it (type errors are not looked at)."""
    try:
        _Parser(_Lexer(text).run()).parse()
    except _Error as exc:
        return f"{_position(text, exc.pos)} parse error: {exc.msg}"
    except IndexError:  # a token sequence the port does not follow: no opinion
        return None
    return None


def at_duration_error(text: str) -> str | None:
    """The error Prometheus 2.42 gives for `@ <duration>` (which promql-parser reads as seconds)."""
    if "@" not in text:
        return None
    err = syntax_error(text)
    return err if err is not None and "in @, expected timestamp" in err else None


def function_calls(text: str) -> list[tuple[str, str, str]]:
    """`(name, position of the name, position of the closing parenthesis)` of each `name(` call in `text`
    whose name the 2.42 lexer reads as an identifier (functions, and aggregations newer than 2.42 such as
    `limitk`), in the order Prometheus' parser reduces them (by closing parenthesis); positions are Go's
    `line:col:` texts. [] when the text does not lex."""
    try:
        toks = _Lexer(text).run()
    except (_Error, IndexError):
        return []
    calls: list[tuple[int, str, int]] = []  # (closing parenthesis, name, name)
    stack: list[tuple[str, int] | None] = []
    for i, t in enumerate(toks):
        if t.typ == "LEFT_PAREN":
            prev = toks[i - 1] if i else None
            stack.append((prev.val, prev.pos) if prev is not None and prev.typ == "IDENTIFIER" else None)
        elif t.typ == "RIGHT_PAREN" and stack:
            call = stack.pop()
            if call is not None:
                calls.append((t.pos, call[0], call[1]))
    return [(name, _position(text, pos), _position(text, end)) for end, name, pos in sorted(calls)]


def position(text: str, pos: int) -> str:
    """Go's `line:col:` prefix of a parse error at byte offset `pos` of `text`."""
    return _position(text, pos)


def call_arguments(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """`(name, [(start, end) byte offsets of each argument])` of each `name(...)` function call in `text`, in
    the order of function_calls(); [] when the text does not lex."""
    try:
        toks = _Lexer(text).run()
    except (_Error, IndexError):
        return []
    calls: list[tuple[int, str, list[tuple[int, int]]]] = []
    # per open parenthesis: the call's name (None: not a call), its arguments, the current one's [start, end]
    stack: list[tuple[str | None, list[tuple[int, int]], list[int]]] = []
    braces = 0

    def extend(start: int, end: int) -> None:
        if stack:
            cur = stack[-1][2]
            if cur[0] < 0:
                cur[0] = start
            cur[1] = end

    for i, t in enumerate(toks):
        end = t.pos + len(t.val.encode("utf-8"))
        if t.typ == "LEFT_PAREN":
            prev = toks[i - 1] if i else None
            name = prev.val if prev is not None and prev.typ == "IDENTIFIER" else None
            extend(t.pos, end)
            stack.append((name, [], [-1, -1]))
        elif t.typ == "RIGHT_PAREN" and stack:
            name, args, cur = stack.pop()
            if cur[0] >= 0:
                args.append((cur[0], cur[1]))
            if name is not None:
                calls.append((t.pos, name, args))
            extend(t.pos, end)
        elif t.typ == "COMMA" and braces == 0 and stack:
            name, args, cur = stack[-1]
            if cur[0] >= 0:
                args.append((cur[0], cur[1]))
            cur[0] = cur[1] = -1
        elif t.typ != "EOF":
            braces += (t.typ == "LEFT_BRACE") - (t.typ == "RIGHT_BRACE")
            extend(t.pos, end)
    return [(name, args) for _, name, args in sorted(calls, key=lambda c: c[0])]


def string_literals(text: str) -> list[str]:
    """The string literals of `text` as written, quotes included (as far as the lexer gets)."""
    try:
        toks = _Lexer(text).run()
    except (_Error, IndexError):
        return []
    return [t.val for t in toks if t.typ == "STRING"]
