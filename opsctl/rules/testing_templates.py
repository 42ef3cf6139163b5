"""Fast expansion of alert label/annotation templates during rule evaluation.

Same output as `opsctl.gotemplate.prometheus.render_rule_template` (Prometheus' expansion, with
`<error expanding template: ...>` on failure), but each template text is parsed once per evaluator instead
of once per alert and evaluation, and the result of a template that cannot query is remembered per
(labels, value): rule evaluation over hundreds of steps expands the same templates again and again.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.gofmt import StrMap
from opsctl.gotemplate.prometheus import DEFS, AlertTemplateData, make_funcs, render_rule_template
from opsctl.gotemplate.template import Template

QueryFn = Callable[[str], list[Any]]

_MEMO_LIMIT = 100_000


class CachedRenderer:
    """A Renderer (see opsctl.rules.testing_eval) bound to one test group's external labels and URL."""

    def __init__(self, external_labels: Mapping[str, str], external_url: str) -> None:
        self.external_labels = StrMap(external_labels)
        self.external_url = external_url
        self._query: QueryFn | None = None
        self._templates: dict[tuple[str, str], Template | None] = {}
        self._memo: dict[tuple[str, str, tuple[tuple[str, str], ...], int | str], str] = {}

    def _run_query(self, q: str) -> list[Any]:
        if self._query is None:  # pragma: no cover - always set while executing
            return []
        return self._query(q)

    def _template(self, text: str, name: str) -> Template | None:
        key = (name, text)
        if key not in self._templates:
            tname = "__alert_" + name
            try:
                t = Template(tname, make_funcs(self._run_query, self.external_url), missingkey="zero")
                t.add(DEFS + text, tname)
            except TemplateError:
                t = None  # render_rule_template gives the exact error text
            self._templates[key] = t
        return self._templates[key]

    def __call__(self, text: str, name: str, labels: Mapping[str, str], value: Any, query: QueryFn) -> str:
        """`value`: the sample's float, or its native histogram (printed as Go's FloatHistogram.String())."""
        pure = "query" not in text
        if isinstance(value, int | float):
            value = float(value)
            vkey: int | str = struct.unpack("<Q", struct.pack("<d", value))[0]
        else:
            vkey = value.test_expression()
        if pure:
            mkey = (name, text, tuple(sorted(labels.items())), vkey)
            hit = self._memo.get(mkey)
            if hit is not None:
                return hit
        t = self._template(text, name)
        if t is None:
            out = render_rule_template(text, labels, value, self.external_labels, self.external_url, query,
                                       alert_name=name)
        else:
            self._query = query
            data = AlertTemplateData(StrMap(labels), self.external_labels, self.external_url, value)
            try:
                out = t.execute(data)
            except TemplateError as err:
                out = f"<error expanding template: error executing template __alert_{name}: {err}>"
            finally:
                self._query = None
        if pure and len(self._memo) < _MEMO_LIMIT:
            self._memo[mkey] = out
        return out
