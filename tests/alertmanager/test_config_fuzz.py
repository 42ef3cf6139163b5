"""Property: the config loader never crashes on arbitrary YAML-shaped input (only ConfigErrors/InputError)."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.config import GLOBAL_SPEC, NOTIFIER_SPECS, ROUTE_SPEC, ConfigErrors, loads_config
from opsctl.errors import InputError

KEYS = sorted({*GLOBAL_SPEC, *ROUTE_SPEC, *(k for s in NOTIFIER_SPECS.values() for k in s), "route", "receivers",
               "name", "inhibit_rules", "time_intervals", "times", "weekdays", "start_time", "matchers",
               "source_matchers", "equal", "templates", "global"})
SAMPLES = ["5m", "0", "http://h/", "a=b", "monday", "10:00", "x:25", "ftp://x", '{a=~"("}']
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.sampled_from(SAMPLES))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["route", "receivers", "global", "inhibit_rules", "time_intervals",
                                        "templates", "mute_time_intervals"]), values, max_size=5))
def test_loader_total(doc: dict) -> None:
    text = yaml.safe_dump(doc)
    try:
        loads_config(text, "fuzz.yml", check_templates=False)
    except (ConfigErrors, InputError):
        pass
