"""Functions of Prometheus 2.42 that promql-parser no longer knows (removed in Prometheus 3)."""

from __future__ import annotations

import promql_parser as pp


def _register() -> None:
    vt = pp.ValueType
    extra = [pp.Function("holt_winters", [vt.Matrix, vt.Scalar, vt.Scalar], vt.Vector)]
    missing = []
    for f in extra:
        try:
            pp.parse(f"{f.name}(x[1m], 0.5, 0.5)")
        except ValueError:
            missing.append(f)
    if missing:
        try:
            pp.register_extra_functions(missing)
        except ValueError:
            pass


_register()
