"""Template sets and the executor (port of Go 1.19 text/template exec.go semantics)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from opsctl.gotemplate.builtins import BUILTINS, MISSING, GoFunc, is_true, signature_of
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import StrMap, _sort_key, format_v, go_type, is_stringer
from opsctl.gotemplate.lexer import go_quote
from opsctl.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
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
)
from opsctl.gotemplate.parser import Tree, parse_trees

MAX_EXEC_DEPTH = 100  # Go allows 100000 nested {{template}} calls; Python's stack is the limit here
MAX_OUTPUT = 64 * 1024 * 1024

_NO_FINAL: Any = object()  # Go's missingVal: "no final pipeline argument"

MISSING_KEY_OPTIONS = ("default", "invalid", "zero", "error")


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Template:
    """A set of associated Go templates (like Go's *template.Template and its namespace).

    ``missingkey`` is Go's Option("missingkey=..."): "default"/"invalid" (a missing map key yields no
    value, printed as ``<no value>``), "zero" (the zero value of the map's element type: "" for a
    :class:`StrMap` = map[string]string, nil = ``<no value>`` for a plain dict = map[string]interface{}),
    "error" (execution fails). Prometheus and Alertmanager both use "zero".
    """

    def __init__(self, name: str = "tmpl", funcs: Mapping[str, Callable[..., Any]] | None = None,
                 missingkey: str = "default", left_delim: str = "", right_delim: str = "",
                 html: bool = False) -> None:
        if missingkey not in MISSING_KEY_OPTIONS:
            raise ValueError(f"unrecognized option: missingkey={missingkey}")
        self.name = name
        self.funcs: dict[str, Any] = dict(funcs or {})
        self.missingkey = "invalid" if missingkey == "default" else missingkey
        self.trees: dict[str, Tree] = {}
        self.left = left_delim
        self.right = right_delim
        self.html = html  # Go html/template: contextual autoescaping on execute (opsctl.gotemplate.htmlescape)
        self._escaped: dict[str, Template] = {}

    # -- building
    def add(self, text: str, name: str) -> None:
        """Parse ``text`` as template ``name`` into this set (like ``t.New(name).Parse(text)``)."""
        self._escaped = {}
        try:
            trees = parse_trees(name, text, [self.funcs], self.left, self.right)
        except RecursionError:
            msg = "template nesting too deep"
            raise TemplateError(f"template: {name}: {msg}", name=name, message=msg) from None
        for tname, tree in trees.items():
            old = self.trees.get(tname)
            if old is not None and _is_empty(tree) and old.root is not None:
                continue  # don't replace a template with an empty one
            self.trees[tname] = tree

    def add_funcs(self, funcs: Mapping[str, Callable[..., Any]]) -> None:
        self._escaped = {}
        self.funcs.update(funcs)

    def names(self) -> list[str]:
        return sorted(self.trees)

    def lookup(self, name: str) -> bool:
        return name in self.trees

    # -- execution
    def execute(self, data: Any, name: str | None = None) -> str:
        """Execute the named template (default: the set's main template) with ``data`` as dot."""
        tname = self.name if name is None else name
        tree = self.trees.get(tname)
        if tree is None:
            if name is not None and name != self.name:
                raise TemplateError(f"template: no template {go_quote(name)} associated with template "
                                    f"{go_quote(self.name)}", name=self.name,
                                    message=f"no template {go_quote(name)} associated with template "
                                            f"{go_quote(self.name)}")
            msg = f"{go_quote(tname)} is an incomplete or empty template"
            raise TemplateError(f"template: {tname}: {msg}", name=tname, message=msg)
        runner = self
        if self.html:
            runner = self._html_runner(tname)
            tree = runner.trees[tname]
        state = _State(runner, tree, data)
        try:
            state.walk(MISSING if data is None else data, tree.root)
        except RecursionError:
            raise TemplateError(f"template: {tname}: template nesting too deep", name=tname,
                                message="template nesting too deep") from None
        return "".join(state.out)


    def _html_runner(self, name: str) -> Template:
        """The set escaped for html output from template ``name`` (Go html/template's escapeTemplate)."""
        runner = self._escaped.get(name)
        if runner is None:
            from opsctl.gotemplate.htmlescape import ESCAPER_FUNCS, escape_trees
            runner = Template(self.name, {**self.funcs, **ESCAPER_FUNCS}, missingkey=self.missingkey)
            runner.trees = escape_trees(self.trees, name)
            self._escaped[name] = runner
        return runner


def _is_empty(t: Tree) -> bool:
    from opsctl.gotemplate.nodes import is_empty_tree
    return is_empty_tree(t.root)


def parse(text: str, name: str = "tmpl", funcs: Mapping[str, Callable[..., Any]] | None = None,
          missingkey: str = "default", html: bool = False) -> Template:
    """Parse ``text`` as a new template set named ``name``; raises TemplateError. With ``html=True`` the set
    executes as Go's html/template does (contextual autoescaping, see opsctl.gotemplate.htmlescape)."""
    t = Template(name, funcs, missingkey=missingkey, html=html)
    t.add(text, name)
    return t


class _State:
    def __init__(self, tmpl: Template, tree: Tree, data: Any) -> None:
        self.set = tmpl
        self.tree = tree
        self.out: list[str] = []
        self.size = 0
        self.node: Node | None = None
        self.vars: list[tuple[str, Any]] = [("$", MISSING if data is None else data)]
        self.depth = 0

    # -- errors
    def at(self, node: Node) -> None:
        self.node = node

    def errorf(self, msg: str) -> NoReturn:
        name = self.tree.name
        if self.node is None:
            raise TemplateError(f"template: {name}: {msg}", name=name, message=msg)
        tree = self.tree
        b = tree.text.encode("utf-8", "surrogateescape")[: self.node.pos]
        nl = b.rfind(b"\n")
        line = 1 + b.count(b"\n")
        byte_num = len(b) if nl < 0 else len(b) - nl - 1
        col_chars = len(b[nl + 1:].decode("utf-8", "replace")) + 1
        context = str(self.node)
        text = f"template: {tree.parse_name}:{line}:{byte_num}: executing {go_quote(name)} at <{context}>: {msg}"
        raise TemplateError(text, name=tree.parse_name, line=line, column=col_chars, message=msg)

    def write(self, s: str) -> None:
        self.size += len(s)
        if self.size > MAX_OUTPUT:
            self.errorf(f"output larger than {MAX_OUTPUT} bytes")
        self.out.append(s)

    # -- variables
    def mark(self) -> int:
        return len(self.vars)

    def pop(self, mark: int) -> None:
        del self.vars[mark:]

    def push(self, name: str, value: Any) -> None:
        self.vars.append((name, value))

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        self.errorf(f"undefined variable: {name}")

    def set_top_var(self, n: int, value: Any) -> None:
        name = self.vars[len(self.vars) - n][0]
        self.vars[len(self.vars) - n] = (name, value)

    def var_value(self, name: str) -> Any:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.errorf(f"undefined variable: {name}")

    # -- walking
    def walk(self, dot: Any, node: Node | None) -> None:
        if node is None:
            return
        self.node = node
        if type(node) is TextNode:
            self.write(node.text)
        elif type(node) is ListNode:
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, ActionNode):
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, val)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        elif isinstance(node, (IfNode, WithNode)):
            self.walk_if_or_with(isinstance(node, IfNode), dot, node)
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, TextNode):
            self.write(node.text)
        else:
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, is_if: bool, dot: Any, node: BranchNode) -> None:
        mark = self.mark()
        try:
            val = self.eval_pipeline(dot, node.pipe)
            truth, ok = is_true(val)
            if not ok:
                self.errorf(f"if/with can't use {format_v(val)}")
            if truth:
                if is_if:
                    self.walk(dot, node.list)
                else:
                    self.walk(val, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            self.pop(mark)

    def walk_range(self, dot: Any, r: RangeNode) -> None:
        self.at(r)
        mark0 = self.mark()
        try:
            val = self.eval_pipeline(dot, r.pipe)
            mark = self.mark()

            def one(index: Any, elem: Any) -> None:
                if len(r.pipe.decl) > 0:
                    self.set_top_var(1, elem)
                if len(r.pipe.decl) > 1:
                    self.set_top_var(2, index)
                try:
                    self.walk(elem, r.list)
                except _Continue:
                    pass
                finally:
                    self.pop(mark)

            try:
                if isinstance(val, (list, tuple)):
                    if len(val) > 0:
                        for i, e in enumerate(list(val)):
                            one(i, e)
                        return
                elif isinstance(val, dict):
                    if len(val) > 0:
                        for k in sorted(val.keys(), key=_sort_key):
                            one(k, val[k])
                        return
                elif val is MISSING or val is None:
                    pass
                else:
                    self.errorf(f"range can't iterate over {format_v(val)}")
            except _Break:
                return
            if r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            self.pop(mark0)

    def walk_template(self, dot: Any, t: TemplateNode) -> None:
        self.at(t)
        tree = self.set.trees.get(t.name)
        if tree is None:
            self.errorf(f"template {go_quote(t.name)} not defined")
        if self.depth >= MAX_EXEC_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        new_dot = self.eval_pipeline(dot, t.pipe) if t.pipe is not None else MISSING
        saved = (self.tree, self.vars, self.depth)
        self.tree = tree
        self.vars = [("$", new_dot)]
        self.depth += 1
        try:
            self.walk(new_dot, tree.root)
        finally:
            self.tree, self.vars, self.depth = saved

    # -- evaluation
    def eval_pipeline(self, dot: Any, pipe: PipeNode | None) -> Any:
        if pipe is None:
            return MISSING
        self.at(pipe)
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = MISSING  # a nil interface{} digs down to an invalid value
        for v in pipe.decl:
            if pipe.is_assign:
                self.set_var(v.ident[0], value)
            else:
                self.push(v.ident[0], value)
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, c: NumberNode) -> Any:
        self.at(c)
        low = c.text.lower()
        is_hex_int = low.lstrip("+-").startswith("0x") and "p" not in low
        if c.is_complex:
            return c.complex128
        if c.is_float and not is_hex_int and not c.text.startswith("'") and any(ch in c.text for ch in ".eEpP"):
            return c.float64
        if c.is_int:
            return c.int64
        if c.is_uint:
            self.errorf(f"{c.text} overflows int")
        return MISSING

    def eval_field_node(self, dot: Any, f: FieldNode, args: list[Node] | None, final: Any) -> Any:
        self.at(f)
        return self.eval_field_chain(dot, dot, f, f.ident, args, final)

    def eval_chain_node(self, dot: Any, chain: ChainNode, args: list[Node] | None, final: Any) -> Any:
        self.at(chain)
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(self, dot: Any, v: VariableNode, args: list[Node] | None, final: Any) -> Any:
        self.at(v)
        value = self.var_value(v.ident[0])
        if len(v.ident) == 1:
            self.not_a_function(args or [v], final)
            return value
        return self.eval_field_chain(dot, value, v, v.ident[1:], args, final)

    def eval_field_chain(self, dot: Any, receiver: Any, node: Node, ident: list[str],
                         args: list[Node] | None, final: Any) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, None, _NO_FINAL, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_field(self, dot: Any, name: str, node: Node, args: list[Node] | None, final: Any,
                   receiver: Any) -> Any:
        if receiver is MISSING:
            if self.set.missingkey == "error":
                self.errorf(f"nil data; no entry for key {go_quote(name)}")
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        method = _find_method(receiver, name)
        if method is not None:
            return self.eval_call(dot, signature_of(method), False, node, name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not _NO_FINAL
        if isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            mk = self.set.missingkey
            if mk == "zero":
                if isinstance(receiver, StrMap):
                    return ""
                zero = getattr(type(receiver), "zero", None)
                return zero
            if mk == "error":
                self.errorf(f"map has no entry for key {go_quote(name)}")
            return MISSING
        if not isinstance(receiver, (str, int, float, complex, bool, list, tuple, bytes)) \
                and not name.startswith("_") and not inspect.isroutine(receiver):
            try:
                val = getattr(receiver, name)
            except AttributeError:
                pass
            except Exception as exc:
                self.errorf(str(exc))
            else:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return val
        self.errorf(f"can't evaluate field {name} in type {go_type(receiver)}")

    def eval_function(self, dot: Any, node: IdentifierNode, cmd: Node, args: list[Node], final: Any) -> Any:
        self.at(node)
        name = node.ident
        fn = self.set.funcs.get(name)
        builtin = False
        if fn is None:
            fn = BUILTINS.get(name)
            builtin = True
        if fn is None:
            self.errorf(f"{go_quote(name)} is not a defined function")
        return self.eval_call(dot, signature_of(fn), builtin, cmd, name, args, final)

    def eval_call(self, dot: Any, fn: GoFunc, builtin: bool, node: Node, name: str,
                  args: list[Node] | None, final: Any) -> Any:
        fargs = args[1:] if args is not None else []
        num_in = len(fargs) + (1 if final is not _NO_FINAL else 0)
        nparams = len(fn.params)
        num_fixed = len(fargs)
        if fn.variadic:
            num_fixed = nparams - 1
            if num_in < num_fixed:
                self.errorf(f"wrong number of args for {name}: want at least {nparams - 1} got {len(fargs)}")
        elif num_in != nparams:
            self.errorf(f"wrong number of args for {name}: want {nparams} got {num_in}")

        if builtin and name in ("and", "or"):
            v: Any = MISSING
            for a in fargs:
                v = self.eval_arg(dot, "value", a)
                if is_true(v)[0] == (name == "or"):
                    return v
            if final is not _NO_FINAL:
                v = final
            return v

        argv: list[Any] = []
        i = 0
        while i < num_fixed and i < len(fargs):
            argv.append(self.eval_arg(dot, fn.params[i], fargs[i]))
            i += 1
        if fn.variadic:
            while i < len(fargs):
                argv.append(self.eval_arg(dot, fn.params[-1], fargs[i]))
                i += 1
        if final is not _NO_FINAL:
            if fn.variadic and num_in - 1 >= num_fixed:
                t = fn.params[-1]
            else:
                t = fn.params[num_in - 1]
            argv.append(self.validate_type(final, t))

        if builtin and name == "call":
            return self.builtin_call(node, argv)
        try:
            result = fn.fn(*argv)
        except TemplateError:
            raise
        except RecursionError:
            raise
        except Exception as exc:
            self.at(node)
            self.errorf(f"error calling {name}: {_exc_text(exc)}")
        if result is None and not fn.returns_value:
            return None
        return result

    def builtin_call(self, node: Node, argv: list[Any]) -> Any:
        fn = argv[0]
        if fn is MISSING or fn is None:
            self.at(node)
            self.errorf("error calling call: call of nil")
        if not callable(fn):
            self.at(node)
            self.errorf(f"error calling call: non-function of type {go_type(fn)}")
        sig = signature_of(fn)
        rest = [None if a is MISSING else a for a in argv[1:]]
        n = len(rest)
        if sig.variadic:
            if n < len(sig.params) - 1:
                self.errorf(f"error calling call: wrong number of args: got {n} want at least "
                            f"{len(sig.params) - 1}")
        elif n != len(sig.params):
            self.errorf(f"error calling call: wrong number of args: got {n} want {len(sig.params)}")
        try:
            return sig.fn(*rest)
        except TemplateError:
            raise
        except Exception as exc:
            self.at(node)
            self.errorf(f"error calling call: {_exc_text(exc)}")

    def eval_arg(self, dot: Any, typ: str | None, n: Node) -> Any:
        self.at(n)
        if isinstance(n, DotNode):
            return self.validate_type(dot, typ)
        if isinstance(n, NilNode):
            if typ in (None, "any", "value") or (typ is not None and _can_be_nil(typ)):
                return None
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(n, FieldNode):
            return self.validate_type(self.eval_field_node(dot, n, [n], _NO_FINAL), typ)
        if isinstance(n, VariableNode):
            return self.validate_type(self.eval_variable_node(dot, n, None, _NO_FINAL), typ)
        if isinstance(n, PipeNode):
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if isinstance(n, IdentifierNode):
            return self.validate_type(self.eval_function(dot, n, n, [], _NO_FINAL), typ)
        if isinstance(n, ChainNode):
            return self.validate_type(self.eval_chain_node(dot, n, None, _NO_FINAL), typ)
        if typ == "bool":
            if isinstance(n, BoolNode):
                return n.value
            self.errorf(f"expected bool; found {n}")
        if typ in ("float64", "float32"):
            if isinstance(n, NumberNode) and n.is_float:
                return n.float64
            self.errorf(f"expected float; found {n}")
        if typ in ("int", "int64"):
            if isinstance(n, NumberNode) and n.is_int:
                return n.int64
            self.errorf(f"expected integer; found {n}")
        if typ == "string":
            if isinstance(n, StringNode):
                return n.text
            self.errorf(f"expected string; found {n}")
        if typ in (None, "any", "value"):
            if isinstance(n, BoolNode):
                return n.value
            if isinstance(n, NumberNode):
                return self.ideal_constant(n)
            if isinstance(n, StringNode):
                return n.text
        self.errorf(f"can't handle {n} for arg of type {typ}")

    def validate_type(self, value: Any, typ: str | None) -> Any:
        if value is MISSING or (value is None and typ not in (None, "any", "value")):
            if typ is None:
                return MISSING
            if typ == "value":
                return MISSING
            if typ == "any" or _can_be_nil(typ):
                return None
            self.errorf(f"invalid value; expected {typ}")
        if typ is None or typ in ("any", "value"):
            return value
        ok = _assignable(value, typ)
        if not ok:
            self.errorf(f"wrong type for value; expected {typ}; got {go_type(value)}")
        return value

    def print_value(self, node: Node, v: Any) -> None:
        self.at(node)
        if type(v) is str:
            self.write(v)
            return
        if v is MISSING or v is None:
            self.write("<no value>")
            return
        if callable(v) and not is_stringer(v) and (inspect.isroutine(v) or isinstance(v, GoFunc)):
            self.errorf(f"can't print {node} of type {go_type(v)}")
        self.write(format_v(v, deref=True))


def _exc_text(exc: BaseException) -> str:
    s = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        s = str(exc.args[0])
    return s or type(exc).__name__


_BASE_TYPES = (dict, list, tuple, str, int, float, complex, bool, bytes, object)


def _find_method(receiver: Any, name: str) -> Any:
    if name.startswith("_") or isinstance(receiver, (str, int, float, complex, bool, bytes)):
        return None
    for cls in type(receiver).__mro__:
        if cls in _BASE_TYPES or cls in (StrMap,):
            break
        attr = cls.__dict__.get(name)
        if attr is None:
            continue
        if isinstance(attr, (staticmethod, classmethod)) or inspect.isfunction(attr):
            return getattr(receiver, name)
        return None
    return None


# named Go types (slices and maps) that accept nil
NILABLE_NAMED_TYPES = {"template.queryResult", "template.KV", "template.Alerts", "template.Pairs"}


def _can_be_nil(typ: str) -> bool:
    return typ.startswith(("*", "[]", "map[", "func", "interface")) or typ in ("any", "value", "error") \
        or typ in NILABLE_NAMED_TYPES


def _assignable(value: Any, typ: str) -> bool:
    if typ == "string":
        return isinstance(value, str)
    if typ in ("int", "int64"):
        return isinstance(value, int) and not isinstance(value, bool)
    if typ in ("float64", "float32"):
        return isinstance(value, float)
    if typ == "bool":
        return isinstance(value, bool)
    if typ == "[]string":
        return isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value)
    if typ == "map[string]string":
        return isinstance(value, dict) and all(isinstance(x, str) for x in value.values())
    return go_type(value) == typ or typ.lstrip("*") == go_type(value).lstrip("*")
