"""Metric types from evidence: /api/v1/metadata JSON and exposition text (opsctl.rules.metadata)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.rules.metadata import load_metadata, series_type


def test_api_metadata_response(tmp_path: Path) -> None:
    doc = {"status": "success", "data": {
        "http_requests": [{"type": "counter", "help": "h", "unit": ""}],
        "node_load1": [{"type": "gauge", "help": "", "unit": ""}],
        "flappy": [{"type": "gauge"}, {"type": "counter"}],
    }}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    types = load_metadata(path)
    assert types == {"http_requests": "counter", "node_load1": "gauge", "flappy": "unknown"}
    assert series_type(types, "http_requests_total") == "counter"
    assert series_type(types, "node_load1") == "gauge"
    assert series_type(types, "nothing_total") is None


def test_exposition_text(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_text("# HELP x_seconds h\n# TYPE x_seconds histogram\nx_seconds_bucket{le=\"1\"} 1\n"
                    "# TYPE s summary\n# TYPE g gaugehistogram\n# TYPE u untyped\n")
    types = load_metadata(path)
    assert series_type(types, "x_seconds_bucket") == "counter"
    assert series_type(types, "x_seconds_count") == "counter"
    assert series_type(types, "s_sum") == "counter"
    assert series_type(types, "s_bucket") is None
    assert series_type(types, "g_bucket") == "gauge"
    assert series_type(types, "u") == "unknown"


@pytest.mark.parametrize(("text", "where"), [
    ("# TYPE x\n", ":1:1"), ("# TYPE x countr\n", ":1:10"), ("no types here\n", ""), ('{"status": "error"}', ""),
    ("{not json", ":1:2"), ('{"data": {"x": 5}}', ""),
])
def test_bad_input_is_one_line_error(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "m.txt"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_metadata(path)
    assert str(info.value).startswith(str(path) + where)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_read_or_refused_cleanly(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.txt"
        path.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else None
        if not path.exists():
            return
        try:
            load_metadata(path)
        except InputError:
            pass
