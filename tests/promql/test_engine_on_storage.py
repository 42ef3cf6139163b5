"""Engine.on_storage: an engine over another storage keeps every option (the rules-test replay path builds
one; it used to pass a hand-written subset of options and lost the newer versions' semantics)."""

from __future__ import annotations

import inspect

from opsctl.promql import Engine, Storage
from opsctl.promql.semantics import engine_options
from opsctl.rules.versions import NEWEST_VERSION


def test_every_option_is_kept() -> None:
    params = [p for p in inspect.signature(Engine.__init__).parameters if p not in ("self", "storage")]
    opts = dict(engine_options(NEWEST_VERSION, frozenset({"promql-delayed-name-removal"})))
    a = Engine(Storage(), lookback_delta=120.0, default_subquery_step=30.0, exact=False, threads=1, **opts)
    other = Storage()
    b = a.on_storage(other)
    assert b.storage is other and a.storage is not other
    assert set(b._options) == set(params)
    assert b._options == a._options
    assert b._options["lookback_delta"] == 120.0 and b._options["exact"] is False
    assert all(b._options[k] == v for k, v in opts.items())
