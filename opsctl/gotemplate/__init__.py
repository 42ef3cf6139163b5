"""Go text/template in Python: a faithful port of Go 1.19's lexer, parser and executor (the Go version
promtool 2.42 and Alertmanager 0.25 are built with), with Prometheus and Alertmanager function sets in
:mod:`opsctl.gotemplate.prometheus` and :mod:`opsctl.gotemplate.alertmanager`.

    t = parse("{{ .name | printf \"%q\" }}", "greeting")
    t.execute({"name": "x"})
"""

from opsctl.gotemplate.builtins import MISSING, FuncError, GoFunc, gofunc
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import GoSlice, StrMap, format_v, sprint, sprintf, sprintln
from opsctl.gotemplate.template import Template, parse

__all__ = [
    "MISSING", "FuncError", "GoFunc", "GoSlice", "StrMap", "Template", "TemplateError", "format_v", "gofunc",
    "parse", "sprint", "sprintf", "sprintln",
]
