"""Metric types from evidence: a saved `/api/v1/metadata` response or exposition-format text.

`load_metadata(path)` returns metric family name -> type (`counter`, `gauge`, `histogram`, `summary`,
`gaugehistogram`, `info`, `stateset`, `unknown`/`untyped`). Both Prometheus's JSON
(`{"status": "success", "data": {"name": [{"type": ..., "help": ..., "unit": ...}]}}`, also the bare
`data` object) and text with `# TYPE name type` lines (the Prometheus text format and OpenMetrics) are
read; the format is told from the first non-blank character.

`series_type(types, name)` answers for a series name: a histogram's `_bucket`/`_count`/`_sum` and a
summary's `_count`/`_sum` are counters, as is OpenMetrics' `name_total` of a counter family `name`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from opsctl.errors import InputError
from opsctl.yamlutil import read_text

_TYPE_LINE = re.compile(r"^#\s*TYPE\s+(\S+)\s+(\S+)\s*$")
KNOWN_TYPES = {"counter", "gauge", "histogram", "summary", "gaugehistogram", "info", "stateset", "unknown",
               "untyped"}


def load_metadata(path: Path) -> dict[str, str]:
    text = read_text(path)
    start = text.lstrip()[:1]
    if start in ("{", "["):
        return _from_json(text, str(path))
    return _from_exposition(text, str(path))


def _from_json(text: str, where: str) -> dict[str, str]:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0)
        col = getattr(exc, "colno", 0)
        raise InputError(f"invalid JSON: {getattr(exc, 'msg', exc)}", where, line, col) from None
    if isinstance(doc, dict) and "data" in doc:
        if doc.get("status") not in (None, "success"):
            raise InputError(f"metadata response has status {doc.get('status')!r}, not success", where)
        doc = doc["data"]
    if not isinstance(doc, dict):
        raise InputError("expected the /api/v1/metadata response: an object of metric name -> list of "
                         "{type, help, unit}", where)
    out: dict[str, str] = {}
    for name, entries in doc.items():
        if not isinstance(entries, list):
            raise InputError(f"metadata of {name!r} must be a list", where)
        types = {str(e.get("type", "")).lower() for e in entries if isinstance(e, dict)}
        types.discard("")
        if len(types) == 1:
            out[str(name)] = types.pop()
        elif types:
            out[str(name)] = "unknown"  # targets disagree: no evidence either way
    return out


def _from_exposition(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            continue
        m = _TYPE_LINE.match(line)
        if m is None:
            if re.match(r"^#\s*TYPE\b", line):
                raise InputError("malformed TYPE line (expected `# TYPE name type`)", where, lineno, 1)
            continue
        name, kind = m.group(1), m.group(2).lower()
        if kind not in KNOWN_TYPES:
            raise InputError(f"unknown metric type {kind!r}", where, lineno, m.start(2) + 1)
        out[name] = kind
    if not out:
        raise InputError("no `# TYPE` lines and not a JSON metadata response", where)
    return out


def series_type(types: dict[str, str], name: str) -> str | None:
    """The type of the series `name` given family types, or None when there is no evidence."""
    kind = types.get(name)
    if kind is not None:
        return "unknown" if kind == "untyped" else kind
    for suffix, families in (("_bucket", ("histogram", "gaugehistogram")), ("_count", ("histogram", "summary")),
                             ("_sum", ("histogram", "summary")), ("_total", ("counter",)),
                             ("_created", ("counter", "histogram", "summary"))):
        if name.endswith(suffix):
            base = types.get(name[: -len(suffix)])
            if base in families:
                if suffix == "_created":
                    return "gauge"
                return "gauge" if base == "gaugehistogram" else "counter"
    return None
