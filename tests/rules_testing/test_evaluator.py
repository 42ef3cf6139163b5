"""The step-by-step rule evaluator (unit tests) and the vectorised backtest agree; TSDB append rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.promql import STALE_NAN, Engine, Labels, Storage, is_stale
from opsctl.rules.backtest import _steps_for, episodes_from_presence
from opsctl.rules.model import Rule, RuleGroup
from opsctl.rules.testing_eval import ERR_DUPLICATE, ERR_OUT_OF_ORDER, AppendStore, RuleEvaluator


def _rule(**kw: object) -> Rule:
    base: dict[str, object] = {"kind": "alert", "name": "A", "expr": "x == 1", "file": "r.yml", "group": "g",
                               "index": 1, "line": 1, "column": 1}
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


def test_append_store_tsdb_semantics() -> None:
    store = AppendStore(Storage())
    lab = Labels({"__name__": "m"})
    assert store.append(lab, 1000, 1.0) is None
    assert store.append(lab, 1000, 1.0) is None  # same value again: fine
    assert store.append(lab, 1000, 2.0) == ERR_DUPLICATE
    assert store.append(lab, 500, 2.0) == ERR_OUT_OF_ORDER
    assert store.append(lab, 2000, STALE_NAN) is None
    store.flush()
    (s,) = store.storage.series()
    assert list(s.ts) == [1000, 2000] and s.vs[0] == 1.0 and is_stale(float(s.vs[1]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=16), st.integers(0, 4), st.integers(0, 4))
def test_evaluator_agrees_with_backtest_state_machine(present: list[bool], for_min: int, keep_min: int) -> None:
    storage = Storage()
    store = AppendStore(storage)
    lab = Labels({"__name__": "x", "i": "1"})
    rule = _rule(for_=for_min * 60.0, keep_firing_for=keep_min * 60.0)
    group = RuleGroup(name="g", file="r.yml", line=1, column=1, rules=[rule])
    ev = RuleEvaluator([group], store, Engine(storage), render=None)
    firing: list[bool] = []
    for i, here in enumerate(present):
        store.append(lab, i * 60_000, 1.0 if here else STALE_NAN)
        assert ev.eval(i * 60_000) == []
        firing.append(any(a.state == "firing" for a in ev.alerts_named("A")))
    eps, _ = episodes_from_presence(np.array(present), _steps_for(rule.for_, 60), _steps_for(rule.keep_firing_for, 60))
    expected = [False] * len(present)
    for e in eps:
        for j in range(e.fired, e.resolved if e.resolved is not None else len(present)):
            expected[j] = True
    assert firing == expected


def test_alerts_series_and_for_state() -> None:
    storage = Storage()
    store = AppendStore(storage)
    engine = Engine(storage)
    rule = _rule(for_=120.0, labels={"sev": "page"})
    group = RuleGroup(name="g", file="r.yml", line=1, column=1, rules=[rule])
    ev = RuleEvaluator([group], store, engine, render=None)
    lab = Labels({"__name__": "x", "i": "1"})
    for i in range(4):
        store.append(lab, i * 60_000, 1.0)
        assert ev.eval(i * 60_000) == []
    store.flush()
    res = engine.instant("ALERTS", 180.0)
    assert [(dict(s.labels), float(s.values[-1])) for s in res.series] == [
        ({"__name__": "ALERTS", "alertname": "A", "alertstate": "firing", "i": "1", "sev": "page"}, 1.0)]
    res = engine.instant("ALERTS_FOR_STATE", 180.0)
    assert [float(s.values[-1]) for s in res.series] == [0.0]
    res = engine.instant('ALERTS{alertstate="pending"}', 60.0)
    assert len(res.series) == 1
    # the pending series went stale when the alert started firing
    res = engine.instant('ALERTS{alertstate="pending"}', 120.0)
    assert res.series == []
