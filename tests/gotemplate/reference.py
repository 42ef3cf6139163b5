"""The pre-optimisation implementation of parsing, reachable for differential tests and the benchmark:
the reference lexer (opsctl.gotemplate.lexer.ReferenceLexer), the frozen parser copy (reference_parser) and
check_rule_template / render_rule_template as they were (no preamble resume, no memoisation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import StrMap
from opsctl.gotemplate.lexer import Item, ReferenceLexer
from opsctl.gotemplate.prometheus import (
    DEFS,
    PROMETHEUS_FUNCS,
    AlertTemplateData,
    _alert_template_name,
    make_funcs,
)
from opsctl.gotemplate.template import Template

from . import reference_parser


def reference_tokens(text: str, left: str = "", right: str = "", break_ok: bool = True,
                     continue_ok: bool = True) -> list[Item]:
    return ReferenceLexer("t", text, left, right, break_ok, continue_ok).run()


def reference_template(name: str, text: str, funcs: Mapping[str, Callable[..., Any]] | None = None,
                       missingkey: str = "default", left: str = "", right: str = "") -> Template:
    """Template(name, funcs, ...).add(text, name) with the reference lexer and parser."""
    t = Template(name, funcs, missingkey=missingkey, left_delim=left, right_delim=right)
    try:
        trees = reference_parser.parse_trees(name, text, [t.funcs], left, right)
    except RecursionError:
        msg = "template nesting too deep"
        raise TemplateError(f"template: {name}: {msg}", name=name, message=msg) from None
    t.trees.update(trees)  # type: ignore[arg-type]  # the reference Tree is a copy of the same class
    return t


def reference_check_rule_template(text: str, name: str) -> TemplateError | None:
    tname = _alert_template_name(name)
    try:
        reference_template(tname, DEFS + text, PROMETHEUS_FUNCS, missingkey="zero")
    except TemplateError as err:
        if err.line == 1 and err.column > len(DEFS):
            err.column -= len(DEFS)
        return err
    return None


def reference_render_rule_template(text: str, labels: Mapping[str, str], value: float,
                                   external_labels: Mapping[str, str], external_url: str) -> str:
    tname = _alert_template_name("")
    data = AlertTemplateData(StrMap(labels), StrMap(external_labels), external_url, float(value))
    try:
        try:
            t = reference_template(tname, DEFS + text, make_funcs(None, external_url), missingkey="zero")
        except TemplateError as err:
            raise TemplateError(f"error parsing template {tname}: {err}") from None
        try:
            return t.execute(data)
        except TemplateError as err:
            raise TemplateError(f"error executing template {tname}: {err}") from None
    except TemplateError as err:
        return f"<error expanding template: {err}>"
