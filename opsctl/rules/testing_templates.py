"""Fast expansion of alert label/annotation templates during rule evaluation.

Same output as `opsctl.gotemplate.prometheus.render_rule_template` (Prometheus' expansion, with
`<error expanding template: ...>` on failure), but each template text is parsed once per evaluator instead
of once per alert and evaluation, and the result of a template that cannot query is remembered per
(labels, value): rule evaluation over hundreds of steps expands the same templates again and again.

`now` is the evaluation time (`t_ms`), as Prometheus's rule manager passes the evaluation timestamp to its
template expander (rules/alerting.go, template/template.go); a template using it is remembered per time.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.gofmt import StrMap
from opsctl.gotemplate.prometheus import DEFS, AlertTemplateData, make_funcs, render_rule_template
from opsctl.gotemplate.template import Template

QueryFn = Callable[[str], list[Any]]

_MEMO_LIMIT = 100_000
_NOW = re.compile(r"\bnow\b")


class CachedRenderer:
    """A Renderer (see opsctl.rules.testing_eval) bound to one test group's external labels and URL."""

    def __init__(self, external_labels: Mapping[str, str], external_url: str) -> None:
        self.external_labels = StrMap(external_labels)
        self.external_url = external_url
        self._query: QueryFn | None = None
        self._now_s: float | None = None  # the evaluation time `now` answers (None: the wall clock)
        self._templates: dict[tuple[str, str], Template | None] = {}
        self._memo: dict[tuple[str, str, tuple[tuple[str, str], ...], int | str, int | None], str] = {}

    def _run_query(self, q: str) -> list[Any]:
        if self._query is None:  # pragma: no cover - always set while executing
            return []
        return self._query(q)

    def _clock(self) -> float:
        return time.time() if self._now_s is None else self._now_s

    def _template(self, text: str, name: str) -> Template | None:
        key = (name, text)
        if key not in self._templates:
            tname = "__alert_" + name
            try:
                t = Template(tname, make_funcs(self._run_query, self.external_url, clock=self._clock),
                             missingkey="zero")
                t.add(DEFS + text, tname)
            except TemplateError:
                t = None  # render_rule_template gives the exact error text
            self._templates[key] = t
        return self._templates[key]

    def __call__(self, text: str, name: str, labels: Mapping[str, str], value: Any, query: QueryFn,
                 t_ms: int | None = None) -> str:
        """`value`: the sample's float, or its native histogram (printed as Go's FloatHistogram.String());
        `t_ms`: the evaluation time in Unix milliseconds, what `now` returns (in seconds); None: the wall
        clock."""
        uses_now = "now" in text and _NOW.search(text) is not None
        pure = "query" not in text and (t_ms is not None or not uses_now)
        if isinstance(value, int | float):
            value = float(value)
            vkey: int | str = struct.unpack("<Q", struct.pack("<d", value))[0]
        else:
            vkey = value.test_expression()
        if pure:
            mkey = (name, text, tuple(sorted(labels.items())), vkey, t_ms if uses_now else None)
            hit = self._memo.get(mkey)
            if hit is not None:
                return hit
        t = self._template(text, name)
        if t is None:
            out = render_rule_template(text, labels, value, self.external_labels, self.external_url, query,
                                       alert_name=name)
        else:
            self._query = query
            self._now_s = None if t_ms is None else t_ms / 1000.0
            data = AlertTemplateData(StrMap(labels), self.external_labels, self.external_url, value)
            try:
                out = t.execute(data)
            except TemplateError as err:
                out = f"<error expanding template: error executing template __alert_{name}: {err}>"
            finally:
                self._query = None
                self._now_s = None
        if pure and len(self._memo) < _MEMO_LIMIT:
            self._memo[mkey] = out
        return out
