"""Label names made by count_values, label_replace and label_join: Prometheus 3 takes any non-empty UTF-8
name (checked against promtool 3.16: `{"aÅz"="120"}`, `{"a-Å"="x"}`), and rejects bytes that are not
UTF-8 (`"\\xff"`, from the v3.5 promqltest corpus) with Go's quoting of the byte; 2.x keeps the legacy
pattern."""

from __future__ import annotations

import numpy as np
import pytest

from opsctl.promql import Engine, Labels, PromQLError, Storage
from opsctl.promql.engine import invalid_utf8_strings


def _engine(v3: bool) -> Engine:
    st = Storage()
    st.add({"__name__": "metric_total", "env": "1"}, np.array([0], dtype=np.int64), np.array([120.0]))
    return Engine(st, v3=v3)


@pytest.mark.parametrize(("expr", "labels"), [
    ('count_values("aÅz", metric_total)', {"aÅz": "120"}),
    ('label_replace(metric_total, "a-Å", "x", "env", "(.*)")', {"__name__": "metric_total", "a-Å": "x", "env": "1"}),
    ('label_join(metric_total, "a-Å", "x", "env")', {"__name__": "metric_total", "a-Å": "1", "env": "1"}),
    # \u escapes are valid UTF-8: only byte escapes can make an invalid name.
    ('count_values("a\\u00c5z", metric_total)', {"aÅz": "120"}),
])
def test_utf8_names_accepted_by_3x(expr: str, labels: dict[str, str]) -> None:
    assert [s.labels for s in _engine(True).instant(expr, 0).series] == [Labels(labels)]
    with pytest.raises(PromQLError, match="invalid"):
        _engine(False).instant(expr, 0)


@pytest.mark.parametrize(("expr", "message"), [
    ('count_values("a\\xc5z", metric_total)', 'invalid label name "a\\xc5z"'),
    ('count_values("", metric_total)', 'invalid label name ""'),
    ('label_replace(metric_total, "\\xff", "", "env", "(.*)")', "invalid destination label name"),
    ('label_join(metric_total, "x", "", "\\377")', "invalid source label name"),
])
def test_invalid_utf8_and_empty_names_rejected_by_3x(expr: str, message: str) -> None:
    with pytest.raises(PromQLError) as err:
        _engine(True).instant(expr, 0)
    assert message in str(err.value)


def test_invalid_utf8_strings() -> None:
    assert invalid_utf8_strings('f("a\\xc5z", "ok", `raw\\xff`, "\\u00ff")') == {"aÅz": "a\udcc5z"}
    assert invalid_utf8_strings('f("\\303\\205")') == {}  # the two bytes of Å: valid UTF-8
    assert invalid_utf8_strings("x") == {}
