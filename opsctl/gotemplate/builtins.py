"""Go text/template builtin functions (text/template/funcs.go, Go 1.19) and the function-signature model.

A template function is any Python callable. To get Go's argument checking, wrap it with
:func:`gofunc` naming Go parameter types ("string", "int", "float64", "bool", "any", "value"); a plain
callable takes ``interface{}`` arguments (its arity comes from its Python signature). A function signals
an error (Go's second ``error`` result) by raising any exception: the template fails with
``error calling NAME: <message>``.
"""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opsctl.gotemplate.gofmt import go_type, sprint, sprintf, sprintln


class _Missing:
    """Go's invalid reflect.Value (a missing map entry, a nil interface result): prints <no value>."""

    _inst: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class FuncError(Exception):
    """Raised by a function to report an error with Go's exact text."""


@dataclass(frozen=True)
class GoFunc:
    fn: Callable[..., Any]
    params: tuple[str, ...]  # Go parameter types
    variadic: bool = False  # last param is ...T (params[-1] is T)
    name: str = ""
    returns_value: bool = False  # builtin returning a raw value (may be MISSING)

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def gofunc(*params: str, variadic: bool = False) -> Callable[[Callable[..., Any]], GoFunc]:
    """Decorator: declare Go parameter types for a template function."""
    def deco(fn: Callable[..., Any]) -> GoFunc:
        return GoFunc(fn, tuple(params), variadic, fn.__name__)
    return deco


def gomethod(*params: str, variadic: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for methods of template data classes: declare Go parameter types (receiver excluded)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__goparams__ = (params, variadic)  # type: ignore[attr-defined]
        return fn
    return deco


def signature_of(fn: Any) -> GoFunc:
    if isinstance(fn, GoFunc):
        return fn
    declared = getattr(fn, "__goparams__", None)
    if declared is not None:
        return GoFunc(fn, tuple(declared[0]), bool(declared[1]), getattr(fn, "__name__", ""))
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return GoFunc(fn, ("any",), True)
    n = 0
    variadic = False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if p.default is not p.empty:
                variadic = True
                break
            n += 1
        elif p.kind == p.VAR_POSITIONAL:
            variadic = True
    if variadic:
        return GoFunc(fn, ("any",) * (n + 1), True)
    return GoFunc(fn, ("any",) * n, False)


# ------------------------------------------------------------------- truth / kinds

def is_true(v: Any) -> tuple[bool, bool]:
    if v is MISSING or v is None:
        return False, True
    if isinstance(v, bool):
        return v, True
    if isinstance(v, (int, float, complex)):
        return v != 0, True
    if isinstance(v, (str, list, tuple, dict, bytes)):
        return len(v) > 0, True
    if callable(v) and not hasattr(v, "__dict__") and not inspect.isclass(v):
        return True, True
    return True, True  # structs and pointers are always true


def basic_kind(v: Any) -> str:
    if v is MISSING or v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, str):
        return "string"
    return "other"


ERR_BAD_COMPARISON_TYPE = "invalid type for comparison"
ERR_BAD_COMPARISON = "incompatible types for comparison"
ERR_NO_COMPARISON = "missing argument for comparison"


def _kind(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "slice"
    if isinstance(v, dict):
        return "map"
    if callable(v) and not hasattr(v, "__dataclass_fields__") and not isinstance(v, type):
        return "func"
    return "struct"


def _type_comparable(v: Any) -> bool:
    k = _kind(v)
    if k in ("slice", "map", "func"):
        return False
    fields = getattr(v, "__dataclass_fields__", None)
    if fields:
        return all(basic_kind(getattr(v, f)) != "other" or _type_comparable(getattr(v, f)) for f in fields)
    return True


def _fmt_s(v: Any) -> str:
    from opsctl.gotemplate.gofmt import sprintf
    return sprintf("%s", v)


def b_eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise FuncError(ERR_NO_COMPARISON)
    k1 = basic_kind(arg1)
    for arg in args:
        k2 = basic_kind(arg)
        truth = False
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise FuncError(ERR_BAD_COMPARISON)
        elif k1 in ("bool", "int", "float", "complex", "string"):
            truth = arg1 == arg
        elif k1 == "invalid":
            truth = True
        else:
            if _kind(arg1) != _kind(arg):
                raise FuncError(f"non-comparable types {_fmt_s(arg1)}: {go_type(arg1)}, {go_type(arg)}: {_vstr(arg)}")
            if not _type_comparable(arg):
                raise FuncError(f"non-comparable type {_fmt_s(arg)}: {go_type(arg)}")
            truth = type(arg1) is type(arg) and (arg1 is arg or arg1 == arg)
        if truth:
            return True
    return False


def _vstr(v: Any) -> str:
    from opsctl.gotemplate.gofmt import format_v
    return "<invalid reflect.Value>" if v is MISSING else format_v(v)


def b_ne(arg1: Any, arg2: Any) -> bool:
    return not b_eq(arg1, arg2)


def b_lt(arg1: Any, arg2: Any) -> bool:
    k1 = basic_kind(arg1)
    if k1 in ("invalid", "other"):
        raise FuncError(ERR_BAD_COMPARISON_TYPE)
    k2 = basic_kind(arg2)
    if k2 in ("invalid", "other"):
        raise FuncError(ERR_BAD_COMPARISON_TYPE)
    if k1 != k2:
        raise FuncError(ERR_BAD_COMPARISON)
    if k1 in ("bool", "complex"):
        raise FuncError(ERR_BAD_COMPARISON_TYPE)
    if k1 == "string":
        return bool(arg1.encode("utf-8", "surrogateescape") < arg2.encode("utf-8", "surrogateescape"))
    return bool(arg1 < arg2)


def b_le(arg1: Any, arg2: Any) -> bool:
    return b_lt(arg1, arg2) or b_eq(arg1, arg2)


def b_gt(arg1: Any, arg2: Any) -> bool:
    return not b_le(arg1, arg2)


def b_ge(arg1: Any, arg2: Any) -> bool:
    return not b_lt(arg1, arg2)


def b_not(arg: Any) -> bool:
    return not is_true(arg)[0]


def b_len(item: Any) -> int:
    if item is MISSING or item is None:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, (list, tuple, dict, bytes, bytearray)):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if index is MISSING or index is None:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def b_index(item: Any, *indexes: Any) -> Any:
    if item is MISSING or item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, (str, bytes)):
            data = item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
            x = _index_arg(index, len(data))
            if x >= len(data):
                raise FuncError("reflect: string index out of range")
            item = data[x]
        elif isinstance(item, (list, tuple)):
            x = _index_arg(index, len(item))
            if x >= len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if index is MISSING or index is None:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            if index in item:
                item = item[index]
            else:
                item = _zero_of_map(item)
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _zero_of_map(m: dict[Any, Any]) -> Any:
    zero = getattr(type(m), "zero", None)
    if zero is not None:
        return zero
    from opsctl.gotemplate.gofmt import StrMap
    if isinstance(m, StrMap):
        return ""
    return None


def b_slice(item: Any, *indexes: Any) -> Any:
    if item is MISSING or item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    is_str = isinstance(item, str)
    if is_str:
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        seq: Any = item.encode("utf-8", "surrogateescape")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise FuncError(f"can't slice item of type {go_type(item)}")
    cap = len(seq)
    idx = [0, len(seq), 0]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, cap)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    out = seq[idx[0]:idx[1]]
    if is_str:
        return out.decode("utf-8", "surrogateescape")
    return type(item)(out) if isinstance(item, list) and type(item) is not list else list(out)


def _eval_args(args: Sequence[Any]) -> str:
    """text/template evalArgs: one string as is, else fmt.Sprint of the printable values (nil -> <no value>)."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*("<no value>" if a is None or a is MISSING else a for a in args))


def html_escape_string(s: str) -> str:
    out = []
    for c in s:
        if c == '"':
            out.append("&#34;")
        elif c == "'":
            out.append("&#39;")
        elif c == "&":
            out.append("&amp;")
        elif c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif c == "\x00":
            out.append("\ufffd")
        else:
            out.append(c)
    return "".join(out)


def b_html(*args: Any) -> str:
    return html_escape_string(_eval_args(args))


def js_escape_string(s: str) -> str:
    out = []
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == '"':
            out.append('\\"')
        elif c == "<":
            out.append("\\u003C")
        elif c == ">":
            out.append("\\u003E")
        elif c == "&":
            out.append("\\u0026")
        elif c == "=":
            out.append("\\u003D")
        elif o < 0x20:
            out.append(f"\\u{o:04X}")
        elif o < 0x80:
            out.append(c)
        else:
            from opsctl.gotemplate.lexer import is_go_print
            if is_go_print(c):
                out.append(c)
            else:
                out.append(f"\\u{o:04X}")
    return "".join(out)


def b_js(*args: Any) -> str:
    return js_escape_string(_eval_args(args))


def b_urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args).encode("utf-8", "surrogateescape"), safe="-_.~")


def b_print(*args: Any) -> str:
    return sprint(*args)


def b_printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, *args)


def b_println(*args: Any) -> str:
    return sprintln(*args)


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc(lambda *a: a[-1], ("value", "value"), True, "and"),  # short-circuit handled in exec
    "or": GoFunc(lambda *a: a[-1], ("value", "value"), True, "or"),
    "call": GoFunc(lambda *a: a, ("value", "value"), True, "call"),  # handled in exec
    "html": GoFunc(b_html, ("any",), True, "html"),
    "index": GoFunc(b_index, ("value", "value"), True, "index", returns_value=True),
    "slice": GoFunc(b_slice, ("value", "value"), True, "slice", returns_value=True),
    "js": GoFunc(b_js, ("any",), True, "js"),
    "len": GoFunc(b_len, ("value",), False, "len"),
    "not": GoFunc(b_not, ("value",), False, "not"),
    "print": GoFunc(b_print, ("any",), True, "print"),
    "printf": GoFunc(b_printf, ("string", "any"), True, "printf"),
    "println": GoFunc(b_println, ("any",), True, "println"),
    "urlquery": GoFunc(b_urlquery, ("any",), True, "urlquery"),
    "eq": GoFunc(b_eq, ("value", "value"), True, "eq"),
    "ge": GoFunc(b_ge, ("value", "value"), False, "ge"),
    "gt": GoFunc(b_gt, ("value", "value"), False, "gt"),
    "le": GoFunc(b_le, ("value", "value"), False, "le"),
    "lt": GoFunc(b_lt, ("value", "value"), False, "lt"),
    "ne": GoFunc(b_ne, ("value", "value"), False, "ne"),
}
