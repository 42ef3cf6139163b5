"""Parser for Go text/template (port of Go 1.19 text/template/parse/parse.go)."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from opsctl.gosem.strconv import ErrSyntax, unquote
from opsctl.gosem.strconv import unquote_char as gosem_unquote_char
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.lexer import SPACE_CHARS, Item, Lexer, T, go_quote
from opsctl.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
    is_empty_tree,
)

BUILTIN_NAMES = frozenset({
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println",
    "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
})

# token types as module constants: an enum attribute lookup costs more than the comparison
_T_ASSIGN = T.ASSIGN
_T_BLOCK = T.BLOCK
_T_BOOL = T.BOOL
_T_BREAK = T.BREAK
_T_CHAR = T.CHAR
_T_CHAR_CONSTANT = T.CHAR_CONSTANT
_T_COMPLEX = T.COMPLEX
_T_CONTINUE = T.CONTINUE
_T_DECLARE = T.DECLARE
_T_DEFINE = T.DEFINE
_T_DOT = T.DOT
_T_ELSE = T.ELSE
_T_END = T.END
_T_EOF = T.EOF
_T_ERROR = T.ERROR
_T_FIELD = T.FIELD
_T_IDENTIFIER = T.IDENTIFIER
_T_IF = T.IF
_T_LEFT_DELIM = T.LEFT_DELIM
_T_LEFT_PAREN = T.LEFT_PAREN
_T_NIL = T.NIL
_T_NUMBER = T.NUMBER
_T_PIPE = T.PIPE
_T_RANGE = T.RANGE
_T_RAW_STRING = T.RAW_STRING
_T_RIGHT_DELIM = T.RIGHT_DELIM
_T_RIGHT_PAREN = T.RIGHT_PAREN
_T_SPACE = T.SPACE
_T_STRING = T.STRING
_T_TEMPLATE = T.TEMPLATE
_T_TEXT = T.TEXT
_T_VARIABLE = T.VARIABLE
_T_WITH = T.WITH
_OPERAND_START = frozenset({_T_BOOL, _T_CHAR_CONSTANT, _T_COMPLEX, _T_DOT, _T_FIELD, _T_IDENTIFIER, _T_NUMBER, _T_NIL,
                            _T_RAW_STRING, _T_STRING, _T_VARIABLE, _T_LEFT_PAREN})
_CONTROL_KEYWORDS = frozenset({_T_BLOCK, _T_BREAK, _T_CONTINUE, _T_ELSE, _T_END, _T_IF, _T_RANGE, _T_TEMPLATE,
                               _T_WITH})
# what may follow a leading variable (and a space) in a declaration; the simple action path leaves those out
_DECL_FOLLOW = frozenset({_T_ASSIGN, _T_DECLARE, _T_CHAR})
# what may start a command after "|" on the simple action path (not a string: "non executable command")
_SIMPLE_CMD_START = frozenset({_T_VARIABLE, _T_FIELD, _T_IDENTIFIER})

MAX_STACK_DEPTH = 100  # Go allows 10000 nested parens; Python's stack is smaller


SyntaxErr = ErrSyntax  # strconv.ErrSyntax; quoting is opsctl.gosem.strconv
unquote_char = gosem_unquote_char
go_unquote = unquote


def _parse_go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64) without the range check; None when invalid."""
    t = text
    neg = False
    if t[:1] in "+-":
        neg = t[0] == "-"
        t = t[1:]
    if not t:
        return None
    base = 10
    low = t.lower()
    if low.startswith("0x"):
        base, t = 16, t[2:]
    elif low.startswith("0b"):
        base, t = 2, t[2:]
    elif low.startswith("0o"):
        base, t = 8, t[2:]
    elif t.startswith("0") and len(t) > 1:
        base, t = 8, t[1:]
    if "_" in t:
        if not _underscore_ok(text):
            return None
        t = t.replace("_", "")
    if not t:
        return None
    try:
        v = int(t, base)
    except ValueError:
        return None
    return -v if neg else v


_FLOAT_DEC = re.compile(r"[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d[\d_]*)?")
_FLOAT_HEX = re.compile(r"[+-]?0[xX]([0-9a-fA-F_]*\.?[0-9a-fA-F_]*)[pP][+-]?\d[\d_]*")


def _underscore_ok(s: str) -> bool:
    """strconv.underscoreOK: underscores only between digits (a base prefix counts as a digit)."""
    if s[:1] in ("-", "+"):
        s = s[1:]
    saw = "^"
    i = 0
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _parse_go_float(text: str) -> float | None:
    if "_" in text and not _underscore_ok(text):
        return None
    if _FLOAT_DEC.fullmatch(text):
        try:
            f = float(text.replace("_", ""))
        except ValueError:
            return None
        return None if math.isinf(f) else f  # strconv.ErrRange
    if _FLOAT_HEX.fullmatch(text):
        try:
            t = text.replace("_", "")
            neg = t.startswith("-")
            t = t.lstrip("+-")
            v = float.fromhex(t)
            return -v if neg else v
        except OverflowError:
            return None
        except ValueError:
            return None
    low = text.lower().lstrip("+-")
    if low in ("inf", "infinity", "nan"):
        return float(text)
    return None


class Tree:
    def __init__(self, name: str, parse_name: str, text: str,
                 funcs: list[Mapping[str, Any]] | None = None) -> None:
        self.name = name
        self.parse_name = parse_name
        self.text = text
        self.root: ListNode | None = None
        self.funcs = funcs or []
        self.items: list[Item] = []
        self.ipos = 0
        self.token: list[Item] = [Item(_T_EOF, 0, "", 1)] * 3
        self.peek_count = 0
        self.vars: list[str] = ["$"]
        self.tree_set: dict[str, Tree] = {}
        self.action_line = 0
        self.range_depth = 0
        self.stack_depth = 0
        self._lex: _LexState | None = None

    # -- token stream (the _LexState is shared with the trees of {{define}}/{{block}}, hence lx.i)
    def _lex_next(self) -> Item:
        assert self._lex is not None
        return self._lex.next()

    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
            return self.token[self.peek_count]
        lx = self._lex
        assert lx is not None
        items = lx.items
        i = lx.i
        if i < len(items):
            tok = items[i]
            lx.i = i + 1
        else:
            tok = items[-1]
        self.token[0] = tok
        return tok

    def backup(self) -> None:
        self.peek_count += 1

    def backup2(self, t1: Item) -> None:
        self.token[1] = t1
        self.peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self.token[1] = t1
        self.token[2] = t2
        self.peek_count = 3

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        tok = self.next()  # fetches into token[0]
        self.peek_count = 1
        return tok

    def next_non_space(self) -> Item:
        while True:
            tok = self.next()
            if tok.typ is not _T_SPACE:
                return tok

    def peek_non_space(self) -> Item:
        while True:
            tok = self.next()
            if tok.typ is not _T_SPACE:
                self.peek_count += 1
                return tok

    # -- errors
    def errorf(self, msg: str, pos: int | None = None) -> NoReturn:
        """Go's message names the line of the last token read; ``pos`` (the offending token) sets the column."""
        self.root = None
        tok = self.token[0]
        col = _column(self.text, tok.pos if pos is None else pos)
        raise TemplateError(f"template: {self.parse_name}:{tok.line}: {msg}", name=self.parse_name,
                            line=tok.line, column=col, message=msg)

    def expect(self, expected: T, context: str) -> Item:
        tok = self.next_non_space()
        if tok.typ != expected:
            self.unexpected(tok, context)
        return tok

    def expect_one_of(self, e1: T, e2: T, context: str) -> Item:
        tok = self.next_non_space()
        if tok.typ != e1 and tok.typ != e2:
            self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Item, context: str) -> NoReturn:
        if tok.typ == _T_ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != tok.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.errorf(f"{tok}{extra}")
        self.errorf(f"unexpected {tok} in {context}")

    def has_function(self, name: str) -> bool:
        if name in BUILTIN_NAMES:
            return True
        return any(name in f for f in self.funcs)

    # -- parsing
    def start_parse(self, lex: _LexState, tree_set: dict[str, Tree]) -> None:
        self.root = None
        self._lex = lex
        self.vars = ["$"]
        self.tree_set = tree_set
        self.stack_depth = 0

    def parse(self, tree_set: dict[str, Tree], left: str = "", right: str = "", *,
              share_prefix_nodes: bool = False) -> None:
        break_ok = not self.has_function("break")
        continue_ok = not self.has_function("continue")
        lexer = Lexer(self.name, self.text, left, right, break_ok=break_ok, continue_ok=continue_ok)
        if left in ("", "{{") and right in ("", "}}"):
            for prefix in _PREFIXES:
                if self.text.startswith(prefix):
                    state = _prefix_state(prefix, break_ok, continue_ok)
                    if state is not None:
                        # resume from the saved state the prefix leaves the lexer and parser in
                        self.start_parse(_LexState(lexer.run_from(len(prefix), state.end_line)), tree_set)
                        self.vars = list(state.vars)
                        self.token = list(state.token)
                        nodes = list(state.shared_nodes) if share_prefix_nodes else state.nodes()
                        self.root = ListNode(state.root_pos, nodes)
                        self._parse_list()
                        self.add()
                        return
        self.start_parse(_LexState(lexer.run()), tree_set)
        self._parse()
        self.add()

    def add(self) -> None:
        tree = self.tree_set.get(self.name)
        if tree is None or is_empty_tree(tree.root):
            self.tree_set[self.name] = self
            return
        if not is_empty_tree(self.root):
            self.errorf(f"template: multiple definition of template {go_quote(self.name)}")

    def _parse(self) -> None:
        self.root = ListNode(self.peek().pos)
        self._parse_list()

    def _parse_list(self) -> None:
        assert self.root is not None
        while True:
            tok = self.peek()
            if tok.typ is _T_EOF:
                break
            if tok.typ is _T_TEXT:  # what text_or_action does with it
                self.next()
                self.root.nodes.append(TextNode(tok.pos, tok.val))
                continue
            if self.peek().typ == _T_LEFT_DELIM:
                delim = self.next()
                first = self.next_non_space()
                if first.typ == _T_DEFINE:
                    new_t = Tree("definition", self.parse_name, self.text, self.funcs)
                    new_t.start_parse(self._lex_state(), self.tree_set)
                    new_t.parse_definition()
                    continue
                if self.peek_count == 0 and first.typ not in _CONTROL_KEYWORDS:
                    # what backup2(delim) + text_or_action() + action() do up to action()'s _simple_action
                    self.token[1] = delim
                    self.action_line = delim.line
                    node = self._simple_action(first)
                    self.action_line = 0
                    if node is not None:
                        self.root.nodes.append(node)
                        continue
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                self.errorf(f"unexpected {n}")
            self.root.nodes.append(n)

    def _lex_state(self) -> _LexState:
        assert self._lex is not None
        return self._lex

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of(_T_STRING, _T_RAW_STRING, context)
        try:
            self.name = go_unquote(name.val)
        except SyntaxErr:
            self.errorf("invalid syntax")
        self.expect(_T_RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add()

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != _T_EOF:
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == _T_TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ == _T_LEFT_DELIM:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        t = tok.typ
        if t not in _CONTROL_KEYWORDS:
            if self.peek_count == 0:
                node = self._simple_action(tok)
                if node is not None:
                    return node
            self.backup()
            tok = self.peek()
            return ActionNode(tok.pos, tok.line, self.pipeline("command", _T_RIGHT_DELIM))
        if t == _T_BLOCK:
            return self.block_control()
        if t == _T_BREAK:
            return self.break_control(tok.pos, tok.line)
        if t == _T_CONTINUE:
            return self.continue_control(tok.pos, tok.line)
        if t == _T_ELSE:
            return self.else_control()
        if t == _T_END:
            return self.end_control()
        if t == _T_IF:
            return self.if_control()
        if t == _T_RANGE:
            return self.range_control()
        if t == _T_TEMPLATE:
            return self.template_control()
        assert t == _T_WITH
        return self.with_control()

    def _simple_action(self, first: Item) -> ActionNode | None:
        """Fast path of action() for the common ``{{ cmd | cmd ... }}`` with no declarations and no parens,
        whose operands are declared variables, fields, defined functions and strings (with field chains):
        reads the tokens straight from the item list, builds exactly the nodes pipeline() would and leaves the
        token buffer as it would (token[0] the closing delimiter; token[1], token[2] as pipeline's
        backup2/backup3 for a leading variable). Returns None, having changed nothing, for anything else
        (including every error), which then takes the general path."""
        lx = self._lex
        assert lx is not None
        its = lx.items
        j = lx.i
        last = len(its) - 1
        if first.typ is _T_VARIABLE:
            k = j
            if k <= last and its[k].typ is _T_SPACE:
                k += 1
            if k > last or its[k].typ in _DECL_FOLLOW:
                return None  # a declaration ($x := ..., $x = ..., $x, $y := ...) or the end of input
        vars_ = self.vars
        cmds: list[CommandNode] = []
        cur = first
        while True:  # commands
            cmd = CommandNode(cur.pos)
            while True:  # operands
                t = cur.typ
                node: Node
                if t is _T_VARIABLE:
                    node = VariableNode(cur.pos, cur.val.split("."))
                    if node.ident[0] not in vars_:
                        return None
                elif t is _T_FIELD:
                    node = FieldNode(cur.pos, cur.val[1:].split("."))
                elif t is _T_IDENTIFIER:
                    if not self.has_function(cur.val):
                        return None
                    node = IdentifierNode(cur.pos, cur.val)
                elif t is _T_STRING or t is _T_RAW_STRING:
                    try:
                        node = StringNode(cur.pos, cur.val, go_unquote(cur.val))
                    except SyntaxErr:
                        return None
                else:
                    return None
                if j > last:
                    return None
                if its[j].typ is _T_FIELD:
                    chain = ChainNode(its[j].pos, node)
                    while j <= last and its[j].typ is _T_FIELD:
                        chain.field.append(its[j].val[1:])
                        j += 1
                    # operand() splits str(chain) at "."; no part has a "." here (the lexer ends words there)
                    if isinstance(node, FieldNode):
                        node = FieldNode(chain.pos, node.ident + chain.field)
                    elif isinstance(node, VariableNode):
                        node = VariableNode(chain.pos, node.ident + chain.field)
                    elif isinstance(node, IdentifierNode):
                        node = chain
                    else:
                        return None
                cmd.args.append(node)
                if j > last:
                    return None
                nt = its[j]
                j += 1
                if nt.typ is _T_SPACE:
                    if j > last:
                        return None
                    nt = its[j]
                    if nt.typ is _T_RIGHT_DELIM or nt.typ is _T_PIPE:
                        j += 1
                    else:
                        cur = nt
                        j += 1
                        continue
                break
            cmds.append(cmd)
            if nt.typ is _T_RIGHT_DELIM:
                break
            if nt.typ is not _T_PIPE:
                return None
            if j <= last and its[j].typ is _T_SPACE:
                j += 1
            if j > last or its[j].typ not in _SIMPLE_CMD_START:
                return None
            cur = its[j]
            j += 1
        # success: the token buffer as pipeline() leaves it
        if first.typ is _T_VARIABLE:
            after = its[lx.i]
            if after.typ is _T_SPACE:
                self.token[1] = after
                self.token[2] = first
            else:
                self.token[1] = first
        self.token[0] = nt
        self.peek_count = 0
        lx.i = j
        pipe = PipeNode(first.pos, first.line)
        pipe.cmds = cmds
        return ActionNode(first.pos, first.line, pipe)

    def break_control(self, pos: int, line: int) -> Node:
        tok = self.next_non_space()
        if tok.typ != _T_RIGHT_DELIM:
            self.unexpected(tok, "{{break}}")
        if self.range_depth == 0:
            self.errorf("{{break}} outside {{range}}")
        return BreakNode(pos, line)

    def continue_control(self, pos: int, line: int) -> Node:
        tok = self.next_non_space()
        if tok.typ != _T_RIGHT_DELIM:
            self.unexpected(tok, "{{continue}}")
        if self.range_depth == 0:
            self.errorf("{{continue}} outside {{range}}")
        return ContinueNode(pos, line)

    def pipeline(self, context: str, end: T) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        while True:  # decls loop ("goto decls")
            v = self.peek_non_space()
            if v.typ != _T_VARIABLE:
                break
            self.next()
            token_after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (_T_ASSIGN, _T_DECLARE):
                pipe.is_assign = nxt.typ == _T_ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                break
            if nxt.typ == _T_CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (_T_VARIABLE, _T_RIGHT_DELIM, _T_RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            if token_after.typ == _T_SPACE:
                self.backup3(v, token_after)
            else:
                self.backup2(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, allow_else_if: bool, context: str) -> tuple[int, int, PipeNode, ListNode,
                                                                          ListNode | None]:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, _T_RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, ElseNode):
                if allow_else_if and self.peek().typ == _T_IF:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(self.if_control())
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def if_control(self) -> Node:
        return _branch(IfNode, "if", self.parse_control(True, "if"))

    def range_control(self) -> Node:
        return _branch(RangeNode, "range", self.parse_control(False, "range"))

    def with_control(self) -> Node:
        return _branch(WithNode, "with", self.parse_control(False, "with"))

    def end_control(self) -> Node:
        return EndNode(self.expect(_T_RIGHT_DELIM, "end").pos)

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ == _T_IF:
            return ElseNode(peek.pos, peek.line)
        tok = self.expect(_T_RIGHT_DELIM, "else")
        return ElseNode(tok.pos, tok.line)

    def block_control(self) -> Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe = self.pipeline(context, _T_RIGHT_DELIM)
        block = Tree(name, self.parse_name, self.text, self.funcs)
        block.start_parse(self._lex_state(), self.tree_set)
        block.root, end = block.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        block.add()
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def template_control(self) -> Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe: PipeNode | None = None
        if self.next_non_space().typ != _T_RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, _T_RIGHT_DELIM)
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def parse_template_name(self, tok: Item, context: str) -> str:
        if tok.typ in (_T_STRING, _T_RAW_STRING):
            try:
                return go_unquote(tok.val)
            except SyntaxErr:
                self.errorf("invalid syntax")
        self.unexpected(tok, context)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == _T_SPACE:
                continue
            if tok.typ in (_T_RIGHT_DELIM, _T_RIGHT_PAREN):
                self.backup()
            elif tok.typ == _T_PIPE:
                pass
            else:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == _T_FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == _T_FIELD:
                chain.field.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, str(chain)[1:].split("."))
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, str(chain).split("."))
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        t = tok.typ
        if t == _T_IDENTIFIER:
            if not self.has_function(tok.val):
                self.errorf(f"function {go_quote(tok.val)} not defined", tok.pos)
            return IdentifierNode(tok.pos, tok.val)
        if t == _T_DOT:
            return DotNode(tok.pos)
        if t == _T_NIL:
            return NilNode(tok.pos)
        if t == _T_VARIABLE:
            return self.use_var(tok.pos, tok.val)
        if t == _T_FIELD:
            return FieldNode(tok.pos, tok.val[1:].split("."))
        if t == _T_BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if t in (_T_CHAR_CONSTANT, _T_COMPLEX, _T_NUMBER):
            return self.new_number(tok.pos, tok.val, t)
        if t == _T_LEFT_PAREN:
            self.stack_depth += 1
            if self.stack_depth >= MAX_STACK_DEPTH:
                self.errorf("max expression depth exceeded")
            pipe = self.pipeline("parenthesized pipeline", _T_RIGHT_PAREN)
            self.stack_depth -= 1
            return pipe
        if t in (_T_STRING, _T_RAW_STRING):
            try:
                s = go_unquote(tok.val)
            except SyntaxErr:
                self.errorf("invalid syntax")
            return StringNode(tok.pos, tok.val, s)
        self.backup()
        return None

    def use_var(self, pos: int, name: str) -> Node:
        v = VariableNode(pos, name.split("."))
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {go_quote(v.ident[0])}", pos)

    def new_number(self, pos: int, text: str, typ: T) -> NumberNode:
        n = NumberNode(pos, text)
        if typ == _T_CHAR_CONSTANT:
            try:
                ch, i, _ = unquote_char(text[1:], 0, text[0])
            except (SyntaxErr, IndexError):
                self.errorf("invalid syntax")
            if text[1 + i:] != "'":
                self.errorf(f"malformed character constant: {text}")
            r = ord(ch)
            n.int64 = n.uint64 = r
            n.float64 = float(r)
            n.is_int = n.is_uint = n.is_float = True
            return n
        if typ == _T_COMPLEX:
            try:
                c = _scan_complex(text)
            except ValueError as exc:
                self.errorf(str(exc))
            n.is_complex, n.complex128 = True, c
            _simplify_complex(n)
            return n
        if text.endswith("i"):
            f = _parse_go_float(text[:-1])
            if f is not None:
                n.is_complex, n.complex128 = True, complex(0, f)
                _simplify_complex(n)
                return n
        u = _parse_go_int(text)
        if u is not None and not text.startswith(("-", "+")) and 0 <= u < 2 ** 64:
            n.is_uint, n.uint64 = True, u
        if u is not None and -(2 ** 63) <= u < 2 ** 63:
            n.is_int, n.int64 = True, u
            if u == 0:
                n.is_uint, n.uint64 = True, 0
        if n.is_int:
            n.is_float, n.float64 = True, float(n.int64)
        elif n.is_uint:
            n.is_float, n.float64 = True, float(n.uint64)
        else:
            f = _parse_go_float(text)
            if f is not None:
                if not any(c in text for c in ".eEpP"):
                    self.errorf(f"integer overflow: {go_quote(text)}")
                n.is_float, n.float64 = True, f
                if f == f and abs(f) != float("inf"):
                    if f == int(f) and -(2 ** 63) <= int(f) < 2 ** 63:
                        n.is_int, n.int64 = True, int(f)
                    if f == int(f) and 0 <= int(f) < 2 ** 64:
                        n.is_uint, n.uint64 = True, int(f)
        if not (n.is_int or n.is_uint or n.is_float):
            self.errorf(f"illegal number syntax: {go_quote(text)}")
        return n


def _float_token(s: str, i: int) -> tuple[str, int]:
    """fmt's floatToken: the longest float-looking prefix of s[i:]."""
    start = i

    def accept(chars: str) -> bool:
        nonlocal i
        if i < len(s) and s[i] in chars:
            i += 1
            return True
        return False

    if accept("nN") and accept("aA") and accept("nN"):
        return s[start:i], i
    accept("+-")
    if accept("iI") and accept("nN") and accept("fF"):
        return s[start:i], i
    digits, exp = "0123456789_", "eEpP"
    if accept("0") and accept("xX"):
        digits, exp = "0123456789abcdefABCDEF_", "pP"
    while accept(digits):
        pass
    if accept("."):
        while accept(digits):
            pass
    if accept(exp):
        accept("+-")
        while accept("0123456789_"):
            pass
    return s[start:i], i


def _go_parse_float(tok: str) -> float:
    """strconv.ParseFloat(tok, 64) with Go's error text."""
    f = _parse_go_float(tok)
    if f is not None:
        return f
    if _FLOAT_DEC.fullmatch(tok) or _FLOAT_HEX.fullmatch(tok):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(tok)}: value out of range")
    raise ValueError(f"strconv.ParseFloat: parsing {go_quote(tok)}: invalid syntax")


def _scan_complex(text: str) -> complex:
    """fmt.Sscan of a complex128 as Go's template parser does it: real part, sign, imaginary part, 'i'."""
    real, i = _float_token(text, 0)
    if i >= len(text) or text[i] not in "+-":
        raise ValueError("syntax error scanning complex number")
    imag, j = _float_token(text, i + 1)
    if j >= len(text) or text[j] != "i":
        raise ValueError("syntax error scanning complex number")
    return complex(_go_parse_float(real), _go_parse_float(text[i] + imag))


def _simplify_complex(n: NumberNode) -> None:
    c = n.complex128
    if c.imag == 0:
        n.is_float, n.float64 = True, c.real
        if c.real == int(c.real) if c.real == c.real and abs(c.real) != float("inf") else False:
            n.is_int, n.int64 = True, int(c.real)
            if c.real >= 0:
                n.is_uint, n.uint64 = True, int(c.real)


def _branch(cls: type[BranchNode], kw: str, parts: tuple[int, int, PipeNode, ListNode, ListNode | None]) -> Node:
    pos, line, pipe, lst, else_list = parts
    return cls(pos, line, pipe, lst, else_list, kw)


# -- constant prefixes (Prometheus's variable definitions before every alert template) ---------------------
_PREFIXES: list[str] = []


@dataclasses.dataclass(frozen=True)
class _PrefixState:
    """What the lexer and the parser of a template starting with a registered prefix hold once the prefix
    is consumed: the lexer is back in text state at the end of the prefix (on line ``end_line``), the parser
    has read the prefix's top-level nodes, declared ``vars`` and holds ``token`` in its look-ahead buffer."""

    end_line: int
    root_pos: int
    nodes: Callable[[], list[Node]]  # makes a fresh copy of the prefix's top-level nodes
    shared_nodes: tuple[Node, ...]  # the nodes themselves, for parses whose trees are thrown away
    vars: tuple[str, ...]
    token: tuple[Item, ...]


def register_prefix(prefix: str) -> None:
    """Have Tree.parse skip re-lexing and re-parsing ``prefix`` in every template text starting with it (with
    the default delimiters). Results are identical to parsing the whole text; a prefix that does not qualify
    (see _prefix_state) is simply parsed every time."""
    if prefix and prefix not in _PREFIXES:
        _PREFIXES.append(prefix)


@functools.lru_cache(maxsize=64)
def _prefix_state(prefix: str, break_ok: bool, continue_ok: bool) -> _PrefixState | None:
    """The saved state after ``prefix``, or None when resuming from it could differ from a full parse: the
    prefix must parse on its own, end with a plain ``}}`` (the lexer then is in text state with nothing
    pending), name no function (function lookups depend on the caller's funcs) and define no template."""
    lexer = Lexer("prefix", prefix, break_ok=break_ok, continue_ok=continue_ok)
    items = lexer.run()
    if (len(items) < 2 or items[-1].typ is not _T_EOF or items[-2].typ is not _T_RIGHT_DELIM
            or items[-2].pos + 2 != len(prefix.encode("utf-8"))
            or (prefix[-3:-2] == "-" and prefix[-4:-3] in tuple(SPACE_CHARS))):  # " -}}" trims what follows
        return None
    if any(it.typ in (_T_ERROR, _T_IDENTIFIER, _T_DEFINE, _T_BLOCK, _T_TEMPLATE) for it in items):
        return None
    tree_set: dict[str, Tree] = {}
    tree = Tree("prefix", "prefix", prefix, [])
    try:
        tree.start_parse(_LexState(items), tree_set)
        tree._parse()
    except (TemplateError, RecursionError):
        return None
    if tree.root is None or tree_set or tree.range_depth or tree.stack_depth or tree.action_line:
        return None
    try:
        factory = _node_factory(tuple(tree.root.nodes))
    except (TypeError, SyntaxError):
        return None
    return _PrefixState(lexer.line, tree.root.pos, factory, tuple(tree.root.nodes), tuple(tree.vars),
                        tuple(tree.token))


def _node_factory(nodes: tuple[Node, ...]) -> Callable[[], list[Node]]:
    """A function returning a fresh deep copy of ``nodes`` on every call (each parse owns its nodes, as after
    a full parse), compiled once: calling the node constructors is several times faster than copying."""
    consts: list[Any] = []
    classes: dict[str, type] = {}

    def gen(x: Any) -> str:
        if isinstance(x, list):
            return "[" + ", ".join(gen(v) for v in x) + "]"
        if isinstance(x, Node):
            cls = type(x)
            if not dataclasses.is_dataclass(x) or set(x.__dict__) != {f.name for f in dataclasses.fields(x)}:
                raise TypeError(cls.__name__)
            key = f"_N{len(classes)}"
            for k, v in classes.items():
                if v is cls:
                    key = k
            classes[key] = cls
            return key + "(" + ", ".join(f"{f.name}={gen(getattr(x, f.name))}" for f in dataclasses.fields(x)) + ")"
        if isinstance(x, (str, int, float, complex, bool)) or x is None:
            consts.append(x)
            return f"_C[{len(consts) - 1}]"
        raise TypeError(type(x).__name__)

    code = "lambda: [" + ", ".join(gen(n) for n in nodes) + "]"
    factory: Callable[[], list[Node]] = eval(code, {"_C": consts, **classes})  # noqa: S307 - generated above
    return factory


class _LexState:
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.i = 0

    def next(self) -> Item:
        if self.i < len(self.items):
            it = self.items[self.i]
            self.i += 1
            return it
        return self.items[-1]


def _column(text: str, byte_pos: int) -> int:
    """1-based column (in characters) of a byte offset."""
    b = text.encode("utf-8")[:byte_pos].decode("utf-8", "ignore")
    nl = b.rfind("\n")
    return len(b) - nl


def parse_trees(name: str, text: str, funcs: list[Mapping[str, Callable[..., Any]]],
                left: str = "", right: str = "", *, share_prefix_nodes: bool = False) -> dict[str, Tree]:
    """Parse ``text`` as template ``name`` (and the templates it defines). ``share_prefix_nodes``: for a text
    starting with a registered prefix, the prefix's nodes are shared with other parses instead of copied;
    only for callers that throw the trees away (a syntax check)."""
    tree_set: dict[str, Tree] = {}
    t = Tree(name, name, text, list(funcs))
    t.parse(tree_set, left, right, share_prefix_nodes=share_prefix_nodes)
    return tree_set
