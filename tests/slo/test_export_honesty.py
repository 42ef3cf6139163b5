"""Exports that cannot lie (issue 16): conflicting duplicates, exact duplicates, negative counters, short rows
and bad timestamps, in CSV (streamed and in-memory), Parquet and Prometheus JSON. Inputs: tests/slo/repro/
(copies of the reproducers)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.errors import InputError
from opsctl.slo.report import Options, report_from_export, summary
from opsctl.slo.spec import load_spec
from tests.conftest import run_opsctl

REPRO = Path(__file__).resolve().parent / "repro"
SPEC = REPRO / "dup-spec.yml"


def _report(data: Path, **kw: object) -> dict:
    slos = [s for g in load_spec(SPEC) for s in g.slos]
    return summary(report_from_export(slos, data, Options(**kw)))["slos"][0]  # type: ignore[arg-type]


def _err(data: Path, **kw: object) -> InputError:
    with pytest.raises(InputError) as exc:
        _report(data, **kw)
    return exc.value


def test_conflicting_duplicate_is_an_error_naming_both_rows() -> None:
    # dup-min.csv: the 500 series has 0 (line 5) and 500 (line 6) at 00:01; read as a reset it made 1 bad
    # event into 501 (SLI 80% instead of 99.95%)
    e = _err(REPRO / "dup-min.csv")
    assert (e.file, e.line) == (str(REPRO / "dup-min.csv"), 6)
    assert "lines 5 and 6" in e.message and "two different values" in e.message and "(0 and 500)" in e.message
    e = _err(REPRO / "e13-dup-ts-diff-value.csv")
    assert e.line == 32 and "lines 31 and 32" in e.message and "(999999 and 3004)" in e.message


def test_keep_first_is_the_documented_rule() -> None:
    s = _report(REPRO / "dup-min.csv", on_duplicate="keep-first")
    assert s["events"] == {"total": 2001.0, "bad": 1.0, "good": 2000.0}
    assert s["sli"] == pytest.approx(1 - 1 / 2001)


def test_exact_duplicates_are_dropped(tmp_path: Path) -> None:
    lines = (REPRO / "ok-min.csv").read_text().splitlines(keepends=True)
    doubled = tmp_path / "doubled.csv"
    doubled.write_text(lines[0] + "".join(line + line for line in lines[1:]))
    ok = _report(REPRO / "ok-min.csv")
    assert _report(doubled)["events"] == ok["events"]
    dup = REPRO / "dup-min.csv"  # without its conflicting row, duplicating every row changes nothing
    rows = [r for r in dup.read_text().splitlines(keepends=True) if r != "1748736060,http_requests_total,api,500,500\n"]
    single, twice = tmp_path / "single.csv", tmp_path / "twice.csv"
    single.write_text("".join(rows))
    twice.write_text(rows[0] + "".join(r + r for r in rows[1:]))
    assert _report(twice)["events"] == _report(single)["events"] == {"total": 2001.0, "bad": 1.0, "good": 2000.0}


def test_negative_counter_is_an_error_with_its_line() -> None:
    e = _err(REPRO / "e12-negative.csv")
    assert e.line == 31 and "negative value (-5)" in e.message and 'code="200"' in e.message


@pytest.mark.parametrize("name, line", [("e04-min-short-row.csv", 4), ("e04-short-row.csv", 31)])
def test_short_row_is_an_error_with_its_line(name: str, line: int) -> None:
    e = _err(REPRO / name)
    assert e.line == line and "row with 4 field(s), the header has 5" in e.message


@pytest.mark.parametrize("name, line", [("e03-min-bad-time.csv", 3), ("e03-bad-time.csv", 31)])
def test_bad_timestamp_is_an_error_with_its_line(name: str, line: int) -> None:
    e = _err(REPRO / name)
    assert e.line == line and "not-a-time" in e.message


def _parquet(csv: Path, out: Path) -> Path:
    table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(
        column_types={"timestamp": pa.float64(), "value": pa.float64(), "code": pa.string()}))
    pq.write_table(table, out, row_group_size=3)
    return out


def test_parquet_errors_name_rows(tmp_path: Path) -> None:
    e = _err(_parquet(REPRO / "dup-min.csv", tmp_path / "dup.parquet"))
    assert e.file.endswith("dup.parquet") and "Parquet row 4 and row 5" in e.message
    e = _err(_parquet(REPRO / "e12-negative.csv", tmp_path / "neg.parquet"))
    assert "Parquet row 30" in e.message and "negative value (-5)" in e.message


def test_json_errors_name_series_and_time(tmp_path: Path) -> None:
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "http_requests_total", "service": "api", "code": "200"},
         "values": [[1748736000, "1"], [1748736060, "2"]]},
        {"metric": {"__name__": "http_requests_total", "service": "api", "code": "200"},  # second replica
         "values": [[1748736060, "7"]]},
    ]}}
    f = tmp_path / "e.json"
    f.write_text(json.dumps(doc))
    e = _err(f)
    assert e.file == str(f) and "2025-06-01T00:01:00Z" in e.message and "(2 and 7)" in e.message


def test_cli_exit_2_and_keep_first_option() -> None:
    proc = run_opsctl("slo", "report", str(SPEC), "--data", str(REPRO / "dup-min.csv"))
    assert proc.returncode == 2 and "dup-min.csv:6:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_opsctl("slo", "report", str(SPEC), "--data", str(REPRO / "dup-min.csv"), "--on-duplicate",
                      "keep-first", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    proc = run_opsctl("slo", "report", str(SPEC), "--data", str(REPRO / "dup-min.csv"), "--on-duplicate", "last")
    assert proc.returncode == 2 and "expected error or keep-first" in proc.stderr


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=12))
def test_property_duplicates_never_change_the_figures(tmp_path_factory: pytest.TempPathFactory,
                                                      copies: list[tuple[int, int]]) -> None:
    """Repeating rows (any row, any number of times) gives the same report as the export without repeats."""
    rows = (REPRO / "dup-min.csv").read_text().splitlines(keepends=True)
    rows = [r for r in rows if r != "1748736060,http_requests_total,api,500,500\n"]
    body = rows[1:]
    extra = {i % len(body): n for i, n in copies}
    d = tmp_path_factory.mktemp("p")
    a, b = d / "a.csv", d / "b.csv"
    a.write_text("".join(rows))
    b.write_text(rows[0] + "".join(r * (1 + extra.get(i, 0)) for i, r in enumerate(body)))
    assert _report(b)["events"] == _report(a)["events"]
