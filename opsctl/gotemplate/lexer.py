"""Lexer for Go text/template, a faithful port of Go 1.19's text/template/parse/lex.go.

Positions are byte offsets into the UTF-8 encoding of the text, as in Go, so error columns match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum

from opsctl.gosem.strconv import is_print, quote


class T(IntEnum):
    ERROR = 0
    BOOL = 1
    CHAR = 2
    CHAR_CONSTANT = 3
    COMMENT = 4
    COMPLEX = 5
    ASSIGN = 6
    DECLARE = 7
    EOF = 8
    FIELD = 9
    IDENTIFIER = 10
    LEFT_DELIM = 11
    LEFT_PAREN = 12
    NUMBER = 13
    PIPE = 14
    RAW_STRING = 15
    RIGHT_DELIM = 16
    RIGHT_PAREN = 17
    SPACE = 18
    STRING = 19
    TEXT = 20
    VARIABLE = 21
    KEYWORD = 22  # delimits keywords
    BLOCK = 23
    BREAK = 24
    CONTINUE = 25
    DOT = 26
    DEFINE = 27
    ELSE = 28
    END = 29
    IF = 30
    NIL = 31
    RANGE = 32
    TEMPLATE = 33
    WITH = 34


KEYWORDS: dict[str, T] = {
    ".": T.DOT,
    "block": T.BLOCK,
    "break": T.BREAK,
    "continue": T.CONTINUE,
    "define": T.DEFINE,
    "else": T.ELSE,
    "end": T.END,
    "if": T.IF,
    "range": T.RANGE,
    "nil": T.NIL,
    "template": T.TEMPLATE,
    "with": T.WITH,
}

SPACE_CHARS = " \t\r\n"
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"


go_quote = quote  # strconv.Quote (opsctl.gosem)
is_go_print = is_print  # unicode.IsPrint


def unicode_repr(ch: str) -> str:
    """%#U formatting of a rune: U+0041 'A'."""
    o = ord(ch)
    s = f"U+{o:04X}"
    if is_go_print(ch):
        s += f" '{ch}'"
    return s


def is_space(ch: str) -> bool:
    return ch in (" ", "\t", "\r", "\n")


def is_alnum(ch: str) -> bool:
    if ch == "_":
        return True
    if not ch:
        return False
    cat = unicodedata.category(ch)
    return cat[0] == "L" or cat == "Nd"


@dataclass(slots=True)
class Item:
    typ: T
    pos: int  # byte offset
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ > T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


class ReferenceLexer:
    """The character-by-character port of Go's lexer (the state machine of lex.go, one rune at a time).

    Produces all items eagerly (templates are small); stops after the first error. :class:`Lexer` is the
    same machine with fast paths; this class is kept as the reference the fast paths are tested against
    (tests/gotemplate/test_fast_lexer.py) and as their fallback for anything unusual.
    """

    def __init__(self, name: str, text: str, left: str = "{{", right: str = "}}",
                 break_ok: bool = True, continue_ok: bool = True) -> None:
        self.name = name
        self.input = text
        self.left = left or "{{"
        self.right = right or "}}"
        self.pos = 0
        self.start = 0
        self.width = 0
        self.line = 1
        self.start_line = 1
        self.paren_depth = 0
        self.items: list[Item] = []
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        # byte offsets for each character index
        self._byte_off: list[int] | None = None
        if not text.isascii():
            offs = [0] * (len(text) + 1)
            b = 0
            for i, ch in enumerate(text):
                offs[i] = b
                o = ord(ch)
                b += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
            offs[len(text)] = b
            self._byte_off = offs
        self.idx = 0

    def bpos(self, i: int) -> int:
        return self._byte_off[i] if self._byte_off is not None else i

    def run(self) -> list[Item]:
        state = self.lex_text
        while state is not None:
            state = state()
        return self.items

    # -- helpers (positions are character indices internally)
    def next(self) -> str:
        if self.pos >= len(self.input):
            self.width = 0
            return ""
        r = self.input[self.pos]
        self.width = 1
        self.pos += 1
        if r == "\n":
            self.line += 1
        return r

    def peek(self) -> str:
        r = self.next()
        self.backup()
        return r

    def backup(self) -> None:
        if self.width:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1
            self.width = 0

    def this_item(self, t: T) -> Item:
        it = Item(t, self.bpos(self.start), self.input[self.start:self.pos], self.start_line)
        self.start = self.pos
        self.start_line = self.line
        return it

    def emit(self, t: T) -> None:
        self.items.append(self.this_item(t))

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        r = self.next()
        if r and r in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            r = self.next()
            if not r or r not in valid:
                break
        self.backup()

    def errorf(self, msg: str) -> None:
        self.items.append(Item(T.ERROR, self.bpos(self.start), msg, self.start_line))
        return None

    # -- states
    def lex_text(self):  # type: ignore[no-untyped-def]
        self.width = 0
        x = self.input.find(self.left, self.pos)
        if x >= 0:
            if x > self.start:
                self.pos = x
                trim = 0
                if self.has_left_trim(x + len(self.left)):
                    seg = self.input[self.start:self.pos]
                    trim = len(seg) - len(seg.rstrip(SPACE_CHARS))
                self.pos -= trim
                self.line += self.input.count("\n", self.start, self.pos)
                it = self.this_item(T.TEXT)
                if it.val:
                    self.items.append(it)
                self.pos += trim
                self.ignore()
                if trim:
                    # ignore() counted the trimmed newlines
                    pass
            else:
                self.pos = x
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            self.emit(T.TEXT)
        self.emit(T.EOF)
        return None

    def has_left_trim(self, i: int) -> bool:
        s = self.input
        return i + 1 < len(s) and s[i] == "-" and is_space(s[i + 1])

    def has_right_trim(self, i: int) -> bool:
        s = self.input
        return i + 1 < len(s) and is_space(s[i]) and s[i + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self.has_right_trim(self.pos) and self.input.startswith(self.right, self.pos + 2):
            return True, True
        if self.input.startswith(self.right, self.pos):
            return True, False
        return False, False

    def lex_left_delim(self):  # type: ignore[no-untyped-def]
        self.pos += len(self.left)
        trim = self.has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith(LEFT_COMMENT, self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit(T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):  # type: ignore[no-untyped-def]
        self.pos += len(LEFT_COMMENT)
        x = self.input.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            return self.errorf("unclosed comment")
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        if trim:
            self.pos += 2
        self.pos += len(self.right)
        if trim:
            rest = self.input[self.pos:]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self):  # type: ignore[no-untyped-def]
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(self.right)
        self.emit(T.RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos:]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):  # type: ignore[no-untyped-def]
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            return self.errorf("unclosed left paren")
        r = self.next()
        if r == "":
            return self.errorf("unclosed action")
        if is_space(r):
            self.backup()
            return self.lex_space
        if r == "=":
            self.emit(T.ASSIGN)
        elif r == ":":
            if self.next() != "=":
                return self.errorf("expected :=")
            self.emit(T.DECLARE)
        elif r == "|":
            self.emit(T.PIPE)
        elif r == '"':
            return self.lex_quote
        elif r == "`":
            return self.lex_raw_quote
        elif r == "$":
            return self.lex_variable
        elif r == "'":
            return self.lex_char
        elif r == "." and self.pos < len(self.input) and not ("0" <= self.input[self.pos] <= "9"):
            return self.lex_field
        elif r == "." or r in "+-" or "0" <= r <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(r):
            self.backup()
            return self.lex_identifier
        elif r == "(":
            self.emit(T.LEFT_PAREN)
            self.paren_depth += 1
        elif r == ")":
            self.emit(T.RIGHT_PAREN)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.errorf("unexpected right paren " + unicode_repr(r))
        elif ord(r) < 0x80 and is_go_print(r):
            self.emit(T.CHAR)
        else:
            return self.errorf("unrecognized character in action: " + unicode_repr(r))
        return self.lex_inside_action

    def lex_space(self):  # type: ignore[no-untyped-def]
        num = 0
        while True:
            r = self.peek()
            if not r or not is_space(r):
                break
            self.next()
            num += 1
        # a trim-marked closing delimiter: " -}}"
        if self.has_right_trim(self.pos - 1) and self.input.startswith(self.right, self.pos + 1):
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1
            if num == 1:
                return self.lex_inside_action
        self.emit(T.SPACE)
        return self.lex_inside_action

    def lex_identifier(self):  # type: ignore[no-untyped-def]
        while True:
            r = self.next()
            if r and is_alnum(r):
                continue
            self.backup()
            word = self.input[self.start:self.pos]
            if not self.at_terminator():
                return self.errorf("bad character " + unicode_repr(r) if r else "bad character U+FFFFFFFF")
            kw = KEYWORDS.get(word)
            if kw is not None and kw > T.KEYWORD:
                if (kw == T.BREAK and not self.break_ok) or (kw == T.CONTINUE and not self.continue_ok):
                    self.emit(T.IDENTIFIER)
                else:
                    self.emit(kw)
            elif word[0] == ".":
                self.emit(T.FIELD)
            elif word in ("true", "false"):
                self.emit(T.BOOL)
            else:
                self.emit(T.IDENTIFIER)
            return self.lex_inside_action

    def lex_field(self):  # type: ignore[no-untyped-def]
        return self.lex_field_or_variable(T.FIELD)

    def lex_variable(self):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit(T.VARIABLE)
            return self.lex_inside_action
        return self.lex_field_or_variable(T.VARIABLE)

    def lex_field_or_variable(self, typ: T):  # type: ignore[no-untyped-def]
        if self.at_terminator():
            self.emit(T.VARIABLE if typ == T.VARIABLE else T.DOT)
            return self.lex_inside_action
        r = ""
        while True:
            r = self.next()
            if not r or not is_alnum(r):
                self.backup()
                break
        if not self.at_terminator():
            return self.errorf("bad character " + unicode_repr(r))
        self.emit(typ)
        return self.lex_inside_action

    def at_terminator(self) -> bool:
        r = self.peek()
        if r == "" or is_space(r):
            return True
        if r in ".,|:)(":
            return True
        return r == self.right[0]

    def lex_char(self):  # type: ignore[no-untyped-def]
        return self._lex_delimited("'", "unterminated character constant", T.CHAR_CONSTANT)

    def _lex_delimited(self, close: str, unterminated: str, typ: T):  # type: ignore[no-untyped-def]
        """Scan to the closing quote of a char constant or interpreted string (escapes, no newline)."""
        while True:
            r = self.next()
            if r == "\\":
                r2 = self.next()
                if r2 and r2 != "\n":
                    continue
                return self.errorf(unterminated)
            if r == "" or r == "\n":
                return self.errorf(unterminated)
            if r == close:
                break
        self.emit(typ)
        return self.lex_inside_action

    def lex_number(self):  # type: ignore[no-untyped-def]
        if not self.scan_number():
            return self.errorf("bad number syntax: " + go_quote(self.input[self.start:self.pos]))
        sign = self.peek()
        if sign in ("+", "-") and sign:
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf("bad number syntax: " + go_quote(self.input[self.start:self.pos]))
            self.emit(T.COMPLEX)
        else:
            self.emit(T.NUMBER)
        return self.lex_inside_action

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 10 + 1 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 16 + 6 + 1 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        r = self.peek()
        if r and is_alnum(r):
            self.next()
            return False
        return True

    def lex_quote(self):  # type: ignore[no-untyped-def]
        return self._lex_delimited('"', "unterminated quoted string", T.STRING)

    def lex_raw_quote(self):  # type: ignore[no-untyped-def]
        x = self.input.find("`", self.pos)
        if x < 0:
            return self.errorf("unterminated raw quoted string")
        self.line += self.input.count("\n", self.pos, x + 1)
        self.pos = x + 1
        self.emit(T.RAW_STRING)
        return self.lex_inside_action


# -- fast paths (default delimiters only) ---------------------------------------------------------------
# token types as module constants (an enum attribute lookup costs more than building the item)
_ASSIGN = T.ASSIGN
_BOOL = T.BOOL
_BREAK = T.BREAK
_CHAR = T.CHAR
_CHAR_CONSTANT = T.CHAR_CONSTANT
_CONTINUE = T.CONTINUE
_DECLARE = T.DECLARE
_DOT = T.DOT
_EOF = T.EOF
_FIELD = T.FIELD
_IDENTIFIER = T.IDENTIFIER
_LEFT_DELIM = T.LEFT_DELIM
_LEFT_PAREN = T.LEFT_PAREN
_NUMBER = T.NUMBER
_PIPE = T.PIPE
_RAW_STRING = T.RAW_STRING
_RIGHT_DELIM = T.RIGHT_DELIM
_RIGHT_PAREN = T.RIGHT_PAREN
_SPACE = T.SPACE
_STRING = T.STRING
_TEXT = T.TEXT
_VARIABLE = T.VARIABLE
_SPACE_RUN = re.compile(r"[ \t\r\n]+")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9_]*")
_DEC_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"')
_CHAR_CONSTANT_RE = re.compile(r"'(?:[^'\\\n]|\\[^\n])*'")
# what at_terminator accepts after a word, with "}" the first rune of the default right delimiter
_TERMINATORS = frozenset(" \t\r\n.,|:)(}")
_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")
# a character after a plain decimal number that may continue it (or make it an error) in scan_number
_NUMBER_CONT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-")
_SPACES = frozenset(SPACE_CHARS)
_SINGLE: dict[str, T] = {"|": _PIPE, "=": _ASSIGN, ",": _CHAR}


class Lexer(ReferenceLexer):
    """Go's lexer with fast paths for the common tokens inside actions (plain identifiers, keywords, fields,
    variables, decimal numbers, strings, raw strings, spaces, operators and the closing delimiter), each
    taken only where it produces exactly the items of :class:`ReferenceLexer`; anything else (trim markers,
    non-ASCII words, odd numbers, errors, custom delimiters, ...) is handed to the reference state machine
    for one token. Text outside actions is already scanned with str.find."""

    def __init__(self, name: str, text: str, left: str = "{{", right: str = "}}",
                 break_ok: bool = True, continue_ok: bool = True) -> None:
        super().__init__(name, text, left, right, break_ok, continue_ok)
        self._fast = self.left == "{{" and self.right == "}}"

    def run_from(self, index: int, line: int) -> list[Item]:
        """Lex from character ``index`` (which must be outside any action, e.g. just after a ``}}``) as if
        the text before it had been lexed and had ended on ``line``; returns only the items from there."""
        self.pos = self.start = index
        self.line = self.start_line = line
        return self.run()

    def lex_text(self):  # type: ignore[no-untyped-def]
        if not self._fast or self.start != self.pos:
            return super().lex_text()
        return self._fast_lex(True)

    def lex_inside_action(self):  # type: ignore[no-untyped-def]
        if not self._fast or self.start != self.pos:
            return super().lex_inside_action()
        return self._fast_lex(False)

    def _fast_lex(self, in_text: bool):  # type: ignore[no-untyped-def]
        s = self.input
        n = len(s)
        boff = self._byte_off
        append = self.items.append
        pos = self.pos
        line = self.line
        depth = self.paren_depth
        terminators = _TERMINATORS
        while True:
            if in_text:
                x = s.find("{{", pos)
                if x < 0:  # the rest is text
                    if pos < n:
                        append(Item(_TEXT, boff[pos] if boff else pos, s[pos:], line))
                        line += s.count("\n", pos)
                    append(Item(_EOF, boff[n] if boff else n, "", line))
                    self.pos = self.start = n
                    self.line = self.start_line = line
                    self.width = 0
                    return None
                if (x + 3 < n and s[x + 2] == "-" and s[x + 3] in _SPACES) or s.startswith("/*", x + 2):
                    # a left trim marker or a comment: the reference state machine
                    self.pos = self.start = pos
                    self.line = self.start_line = line
                    self.paren_depth = depth
                    self.width = 0
                    return super().lex_text()
                if x > pos:
                    append(Item(_TEXT, boff[pos] if boff else pos, s[pos:x], line))
                    line += s.count("\n", pos, x)
                append(Item(_LEFT_DELIM, boff[x] if boff else x, "{{", line))
                pos = x + 2
                depth = 0
                in_text = False
            if pos >= n:
                break
            c = s[pos]
            if c in _IDENT_START:
                end = _ALNUM_RUN.match(s, pos + 1).end()  # type: ignore[union-attr]
                if end >= n or s[end] not in terminators:
                    break
                word = s[pos:end]
                kw = KEYWORDS.get(word)
                if kw is not None and ((kw != _BREAK or self.break_ok) and (kw != _CONTINUE or self.continue_ok)):
                    typ = kw
                elif word == "true" or word == "false":
                    typ = _BOOL
                else:
                    typ = _IDENTIFIER
            elif c in _SPACES:
                end = _SPACE_RUN.match(s, pos).end()  # type: ignore[union-attr]
                if end >= n or s[end] == "-":
                    break  # maybe a trim marker " -}}"
                append(Item(_SPACE, boff[pos] if boff else pos, s[pos:end], line))
                line += s.count("\n", pos, end)
                pos = end
                continue
            elif c == ".":
                if pos + 1 >= n or s[pos + 1] in _DIGITS:
                    break
                end = _ALNUM_RUN.match(s, pos + 1).end()  # type: ignore[union-attr]
                if end >= n or s[end] not in terminators:
                    break
                typ = _DOT if end == pos + 1 else _FIELD
            elif c == "$":
                end = _ALNUM_RUN.match(s, pos + 1).end()  # type: ignore[union-attr]
                if end >= n or s[end] not in terminators:
                    break
                typ = _VARIABLE
            elif c == "}":
                if depth or not s.startswith("}}", pos):
                    break
                append(Item(_RIGHT_DELIM, boff[pos] if boff else pos, "}}", line))
                pos += 2
                in_text = True
                continue
            elif c in _SINGLE:
                end = pos + 1
                typ = _SINGLE[c]
            elif c == "(":
                end = pos + 1
                typ = _LEFT_PAREN
                depth += 1
            elif c == ")":
                if depth <= 0:
                    break
                end = pos + 1
                typ = _RIGHT_PAREN
                depth -= 1
            elif c == ":":
                if not s.startswith(":=", pos):
                    break
                end = pos + 2
                typ = _DECLARE
            elif c == '"':
                m = _STRING_RE.match(s, pos)
                if m is None:
                    break
                end = m.end()
                typ = _STRING
            elif c == "`":
                x = s.find("`", pos + 1)
                if x < 0:
                    break
                end = x + 1
                append(Item(_RAW_STRING, boff[pos] if boff else pos, s[pos:end], line))
                line += s.count("\n", pos, end)
                pos = end
                continue
            elif c in _DIGITS:
                end = _DEC_NUMBER.match(s, pos).end()  # type: ignore[union-attr]
                if end >= n or s[end] in _NUMBER_CONT or s[end] >= "\x80":
                    break
                typ = _NUMBER
            elif c == "'":
                m = _CHAR_CONSTANT_RE.match(s, pos)
                if m is None:
                    break
                end = m.end()
                typ = _CHAR_CONSTANT
            else:
                break
            append(Item(typ, boff[pos] if boff else pos, s[pos:end], line))
            pos = end
        # hand this token to the reference state machine
        self.pos = self.start = pos
        self.line = self.start_line = line
        self.paren_depth = depth
        self.width = 0
        return super().lex_inside_action()
