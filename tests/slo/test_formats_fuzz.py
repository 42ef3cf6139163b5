"""Property tests: any edit of a sloth CRD, a pyrra SLO or an AlertWindows catalog is read or refused with an
InputError naming the file - never another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.slo.generate import generate
from opsctl.slo.spec import loads_spec
from opsctl.slo.windows import load_catalog
from tests.conftest import shared_data_dir

SLOTH_CRD = (shared_data_dir() / "sloth" / "k8s-getting-started.yml").read_text() if shared_data_dir().exists() else ""
PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-errors
  namespace: monitoring
  labels: {pyrra.dev/team: payments}
spec:
  target: "99.5"
  window: 2w
  indicator:
    ratio:
      errors:
        metric: http_requests_total{job="api",code=~"5.."}
      total:
        metric: http_requests_total{job="api"}
      grouping: [handler]
  alerting:
    severities: {fastBurn: page}
"""
WINDOWS = """\
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 7d
  page:
    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}
"""

TOKENS = ["", " ", ":", "-", "{", "}", "[", "]", '"', "'", "0", "-1", "1e309", "nan", "x", "99.9", "{{.window}}",
          "true", "null", "5m", "0s", "le", "__name__", "~", "\n", "\t", "\\", "#"]


def _mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for pos, cut, tok in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + tok + text[i + cut:]
    return text


EDITS = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 6), st.sampled_from(TOKENS)), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS, st.sampled_from(["pyrra", "sloth"]))
def test_mutated_specs_are_read_or_refused_cleanly(edits: list[tuple[int, int, str]], which: str) -> None:
    base = PYRRA if which == "pyrra" else SLOTH_CRD
    if not base:
        return
    try:
        generate(loads_spec(_mutate(base, edits), "f.yml"))
    except InputError as exc:
        assert exc.file == "f.yml"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(EDITS)
def test_mutated_window_catalogs_are_read_or_refused_cleanly(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    f = tmp_path / "w.yaml"
    f.write_text(_mutate(WINDOWS, edits))
    try:
        load_catalog([f])
    except InputError as exc:
        assert exc.file == str(f)


def test_metadata_maps_of_the_wrong_shape_are_input_errors() -> None:
    import pytest

    for text in (PYRRA.replace("labels: {pyrra.dev/team: payments}", "labels: [a]"),
                 PYRRA.replace("  namespace: monitoring\n", "  namespace: monitoring\n  annotations: 5\n"),
                 SLOTH_CRD.replace("  namespace: monitoring\n", "  namespace: monitoring\n  labels: [1]\n", 1)):
        with pytest.raises(InputError, match="expected a mapping"):
            loads_spec(text, "f.yml")
