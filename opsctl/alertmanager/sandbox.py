"""A Jinja2 sandbox with size and loop bounds, for rendering alertmanager.yml templates.

Jinja2's sandbox stops attribute tricks but not a template that asks for a billion characters
(`{{ 'a' * 100000000 }}`, `{{ 'a'.center(10**9) }}`, `{{ '%999999999s' % 'a' }}`) or nested loops that
run for hours (`range` alone is capped at 100,000 items). `BoundedSandbox` adds:

- an output bound: the rendered text and every string, list or tuple built on the way (`*`, `+`, `~`,
  `%`, `**`, string methods and filters that pad, repeat or join) stay under `max_output` characters;
  operations whose result size is known beforehand are refused before any memory is taken;
- a loop bound: all `{% for %}` loops of one rendering together take at most `max_iterations` steps.

Going past a bound raises `jinja2.sandbox.SecurityError` (a `TemplateError`), which the caller reports
with the template's file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_OUTPUT = 16 * 1024 * 1024  # characters; an alertmanager.yml is kilobytes, a large one a few megabytes
MAX_ITERATIONS = 1_000_000  # loop steps per rendering, all loops together
MAX_POW_BITS = 64 * 1024  # `**` results up to 65,536 bits (about 20,000 digits)

_PERCENT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_SIZED_STR_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_SIZED_FILTERS = {"center", "indent", "wordwrap", "truncate"}


def _size(value: Any) -> int:
    """Characters a value stands for: length of a string, or summed lengths of a sequence of strings."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(len(v) if isinstance(v, (str, bytes)) else 1 for v in value)
    return 0


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with output and loop bounds (see the module docstring)."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, *args: Any, max_output: int = MAX_OUTPUT, max_iterations: int = MAX_ITERATIONS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_output = max_output
        self.max_iterations = max_iterations
        self.iterations = 0
        for name, func in list(self.filters.items()):
            self.filters[name] = self._bounded_filter(name, func)
        self.emitted = 0
        # pass_context: never folded into constants at compile time (they count, so they must run each time)
        self.filters["opsctl_loop_guard"] = pass_context(lambda _ctx, it: self._loop_guard(it))
        self.filters["opsctl_size_guard"] = pass_context(lambda _ctx, v: self._checked(v))
        self.filters["opsctl_emit"] = pass_context(lambda _ctx, v: self._emit(v))

    # --- bounds -------------------------------------------------------------------------------------

    def _too_big(self, what: str) -> SecurityError:
        return SecurityError(f"{what} would exceed the template output limit of {self.max_output} characters")

    def _want(self, size: float, what: str) -> None:
        if size > self.max_output:
            raise self._too_big(what)

    def _checked(self, value: Any) -> Any:
        self._want(_size(value), "a value")
        return value

    def _emit(self, value: Any) -> Any:
        self.emitted += len(value) if isinstance(value, str) else len(str(value))
        self._want(self.emitted, "the rendered text")
        return value

    def _loop_guard(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.iterations += 1
            if self.iterations > self.max_iterations:
                raise SecurityError(f"template loops ran more than {self.max_iterations} steps")
            yield item

    def render_bounded(self, template: Any, context: dict[str, Any]) -> str:
        """Render with the loop counter reset and the output size checked as it is produced."""
        self.iterations = 0
        self.emitted = 0
        out: list[str] = []
        total = 0
        for piece in template.generate(context):
            total += len(piece)
            self._want(total, "the rendered text")
            out.append(piece)
        return "".join(out)

    # --- operators, calls, filters -----------------------------------------------------------------

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and not isinstance(n, bool):
                    self._want(_size(seq) * max(n, 0), "repeating a value")
        elif operator == "+":
            if isinstance(left, (str, bytes, list, tuple)) and isinstance(right, type(left)):
                self._want(_size(left) + _size(right), "joining two values")
        elif operator == "%" and isinstance(left, str):
            self._check_percent(left, right)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if right * math.log2(abs(left)) > MAX_POW_BITS:
                raise SecurityError(f"{left} ** {right} is too large a number")
        result = super().call_binop(context, operator, left, right)
        self._want(_size(result), "the result of an operator")
        return result

    def _check_percent(self, fmt: str, args: Any) -> None:
        values = list(args.values()) if isinstance(args, dict) else list(args) if isinstance(args, tuple) else [args]
        for m in _PERCENT_WIDTH.finditer(fmt):
            for part in m.groups():
                if part is not None and part != "*":
                    self._want(int(part), "a format width")
        if "*" in fmt:
            for v in values:
                if isinstance(v, int):
                    self._want(abs(v), "a format width")

    def wrap_str_format(self, value: Any) -> Any:
        """`'...'.format(...)` / `format_map`: widths in the format string or its arguments are bounded."""
        fmt = super().wrap_str_format(value)
        if fmt is None:
            return None
        template = str(value.__self__)
        env = self

        def bounded(*args: Any, **kwargs: Any) -> str:
            for m in _DIGITS.finditer(template):
                env._want(int(m.group()), "a format width")
            if "{" in template.replace("{{", "").replace("}}", "").split("{", 1)[-1]:  # widths from arguments
                flat = [*args, *kwargs.values()] + [v for a in args if isinstance(a, dict) for v in a.values()]
                for v in flat:
                    if isinstance(v, int):
                        env._want(abs(v), "a format width")
            result = fmt(*args, **kwargs)
            env._want(len(result), "a formatted string")
            return str(result)

        return bounded

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name in _SIZED_STR_METHODS:
                for v in [*args, *kwargs.values()]:
                    if isinstance(v, int):
                        __self._want(v, f"str.{name}")
            elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
                __self._want(len(owner) + (len(owner) + 1) * len(args[1]), "str.replace")
            elif name == "join":
                args = tuple(list(a) if not isinstance(a, (str, list, tuple)) else a for a in args)
                __self._want(sum(_size(a) for a in args) + len(owner) * sum(len(a) for a in args),
                             "str.join")
        result = super().call(__context, __obj, *args, **kwargs)
        __self._want(_size(result), "the result of a call")
        return result

    def _bounded_filter(self, name: str, func: Any) -> Any:
        env = self

        def bounded(*args: Any, **kwargs: Any) -> Any:
            if name in _SIZED_FILTERS:
                for v in [*args[1:], *kwargs.values()]:
                    if isinstance(v, int):
                        env._want(v, f"the {name} filter's width")
                    elif isinstance(v, str):
                        env._want(len(v) * max(1, _size(args[0]) if args else 1), f"the {name} filter")
            if name == "replace":
                vals = args if args and isinstance(args[0], str) else args[1:]  # after the eval context
                if len(vals) >= 3 and isinstance(vals[2], str):
                    env._want(_size(vals[0]) * (1 + len(vals[2])) + len(vals[2]), "the replace filter")
            result = func(*args, **kwargs)
            if isinstance(result, (str, list, tuple)):
                env._want(_size(result), f"the {name} filter's result")
            return result

        for attr in ("jinja_pass_arg", "__name__", "__doc__"):
            if hasattr(func, attr):
                setattr(bounded, attr, getattr(func, attr))
        return bounded

    # --- compile: every loop counts, every ~ is checked ---------------------------------------------

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "opsctl_loop_guard", [], [], None, None, lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):
            inner = nodes.Concat(concat.nodes, lineno=concat.lineno)
            concat.nodes = [nodes.Filter(inner, "opsctl_size_guard", [], [], None, None, lineno=concat.lineno)]
        for output in list(tree.find_all(nodes.Output)):
            output.nodes = [n if isinstance(n, nodes.TemplateData)
                            else nodes.Filter(n, "opsctl_emit", [], [], None, None, lineno=n.lineno)
                            for n in output.nodes]
        return tree
