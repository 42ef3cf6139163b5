"""Go text/template in Python: a faithful port of Go 1.19's lexer, parser and executor (the Go version
promtool 2.42 and Alertmanager 0.25 are built with), with Prometheus and Alertmanager function sets in
:mod:`opsctl.gotemplate.prometheus` and :mod:`opsctl.gotemplate.alertmanager`.

    t = parse("{{ .name | printf \"%q\" }}", "greeting")
    t.execute({"name": "x"})

The names below are loaded on first use, so that importing a light submodule (opsctl.gotemplate.quick,
which `rules validate` uses) does not load the parser and the function tables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.gotemplate.builtins import MISSING, FuncError, GoFunc, gofunc
    from opsctl.gotemplate.errors import TemplateError
    from opsctl.gotemplate.gofmt import GoSlice, StrMap, format_v, sprint, sprintf, sprintln
    from opsctl.gotemplate.template import Template, parse

_WHERE = {
    "MISSING": "builtins", "FuncError": "builtins", "GoFunc": "builtins", "gofunc": "builtins",
    "TemplateError": "errors",
    "GoSlice": "gofmt", "StrMap": "gofmt", "format_v": "gofmt", "sprint": "gofmt", "sprintf": "gofmt",
    "sprintln": "gofmt",
    "Template": "template", "parse": "template",
}

__all__ = [
    "MISSING", "FuncError", "GoFunc", "GoSlice", "StrMap", "Template", "TemplateError", "format_v", "gofunc",
    "parse", "sprint", "sprintf", "sprintln",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
