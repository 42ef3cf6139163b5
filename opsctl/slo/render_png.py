"""PNG rendering of SLO reports: the error-budget burn-down and burn rates, drawn with matplotlib.

matplotlib is imported lazily (only when a PNG is asked for) and always through its non-interactive Agg
canvas (`FigureCanvasAgg` on a bare `Figure`, never pyplot), so no display is needed (cron, CI, SSH) and no
global pyplot state is touched. The output is deterministic: the same report gives the same bytes (fixed
PNG metadata, no creation time, fonts shipped with matplotlib).

The chart data is built first, without matplotlib, by `chart_data()` from the report document (the JSON
schema of `opsctl.slo.report.summary`), so what is drawn is exactly the report's numbers and can be tested.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.errors import InputError
from opsctl.slo.windows import prom_duration

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_METADATA = {"Software": "opsctl"}  # no version, no creation time: identical bytes for identical reports
DPI = 100
WIDTH_IN = 11.0
HEIGHT_PER_SLO_IN = 6.0
MAX_SLOS = 60  # 60 x 600 px stays far below Agg's 2^16 px limit; more: choose with --slo
MAX_GAP_SPANS = 500  # shading of data gaps drawn per SLO (the report lists every gap)
VERDICT = {"ok": "PASS", "violated": "FAIL", "no_data": "NO DATA"}
COLORS = {"ok": "#1a7f37", "violated": "#c62828", "no_data": "#666666"}


@dataclass
class Threshold:
    """An alert condition's burn-rate factor, drawn over the windows it is evaluated on."""

    alert: str  # e.g. "page 1h/5m"
    factor: float
    firing: bool | None


@dataclass
class ChartData:
    """Everything drawn for one SLO (times in Unix seconds, budget as a ratio of the window's budget)."""

    id: str
    title: str
    subtitle: str
    status: str  # ok | violated | no_data
    window_start: float
    window_end: float
    times: list[float] = field(default_factory=list)  # burn-down points (interval ends)
    remaining: list[float] = field(default_factory=list)  # remaining budget ratio at those times
    ideal: list[tuple[float, float]] = field(default_factory=list)  # linear burn: (start, 1), (end, 0)
    burn_spans: list[tuple[float, float, float | None]] = field(default_factory=list)  # start, end, consumed
    gap_spans: list[tuple[float, float]] = field(default_factory=list)
    windows: list[str] = field(default_factory=list)  # burn-rate windows ("5m", ..., the period)
    burn_rates: list[float | None] = field(default_factory=list)
    thresholds: list[list[Threshold]] = field(default_factory=list)  # per window
    alert_spans: list[tuple[float, float, str]] = field(default_factory=list)  # fired, resolved, severity


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _pct(x: float | None, digits: int) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def chart_data(slo: dict[str, Any]) -> ChartData:
    """The series drawn for one SLO of a report document, taken from the report's own numbers."""
    w = slo["window"]
    start, end = _ts(w["start"]), _ts(w["end"])
    status = slo["status"]
    name = slo["id"] if slo["name"] in slo["id"] else f"{slo['name']} ({slo['id']})"
    title = f"SLO {name}: {VERDICT[status]}"
    eb = slo["error_budget"]
    subtitle = (f"objective {slo['objective']:g}% ({slo['budgeting']}), SLI {_pct(slo['sli'], 3)}, "
                f"{w['kind']} {prom_duration(w['period_seconds'])} window {w['start']} .. {w['end']}, "
                f"budget remaining {_pct(eb['remaining_ratio'], 1)}")
    data = ChartData(id=slo["id"], title=title, subtitle=subtitle, status=status, window_start=start,
                     window_end=end, ideal=[(start, 1.0), (end, 0.0)])
    points = [(_ts(p["time"]), float(p["remaining_ratio"])) for p in slo["burndown"]
              if p["remaining_ratio"] is not None]
    if points:
        # Before the first interval nothing is consumed: the line starts at 100% at the window start.
        first_t = points[0][0]
        if first_t > start:
            points.insert(0, (start, 1.0))
        data.times = [t for t, _ in points]
        data.remaining = [v for _, v in points]
    data.burn_spans = sorted((_ts(p["start"]), _ts(p["end"]), p["budget_consumed_ratio"])
                             for p in slo["burn_periods"])
    data.gap_spans = [(max(start, _ts(r["start"])), _ts(r["end"])) for r in slo["gaps"]["ranges"]
                      if _ts(r["end"]) > start][:MAX_GAP_SPANS]
    for a in (slo.get("alert_history") or {}).get("alerts", []):
        data.alert_spans.append((max(start, _ts(a["fired_at"])), _ts(a["resolved_at"]) if a["resolved_at"] else end,
                                 a["severity"]))
    by_window: dict[str, list[Threshold]] = {}
    for a in slo["alerts"]:
        for c in a["conditions"]:
            th = Threshold(f"{a['severity']} {c['long']}/{c['short']}", float(c["factor"]), c["firing"])
            for win in dict.fromkeys((c["short"], c["long"])):  # short == long for tiny periods
                by_window.setdefault(win, []).append(th)
    for b in slo["burn_rates"]:
        data.windows.append(b["window"])
        data.burn_rates.append(None if b["burn_rate"] is None else float(b["burn_rate"]))
        data.thresholds.append(by_window.get(b["window"], []))
    return data


MISSING_MATPLOTLIB = ("PNG charts need matplotlib, an optional extra: pip install 'opsctl-sre[png]' "
                      "(or write an .html report)")


def png_bytes(doc: dict[str, Any]) -> bytes:
    """One PNG for a report document: per SLO a burn-down panel and a burn-rate panel, stacked."""
    slos = doc["slos"]
    if not slos:
        raise InputError("no SLO to draw", "<report>")
    if len(slos) > MAX_SLOS:
        raise InputError(f"{len(slos)} SLOs are too many for one PNG (at most {MAX_SLOS}): choose with --slo",
                         "<report>")
    try:  # lazy: only PNG output needs matplotlib
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # the optional `png` extra
        raise InputError(MISSING_MATPLOTLIB, "<report>") from None

    charts = [chart_data(s) for s in slos]
    with matplotlib.rc_context({"timezone": "UTC", "font.size": 9, "axes.titlesize": 10,
                                "path.simplify": True}):
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_PER_SLO_IN * len(charts)), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        outer = fig.add_gridspec(len(charts), 1, hspace=0.08)
        for i, c in enumerate(charts):
            inner = outer[i].subgridspec(2, 1, height_ratios=[3.0, 1.4], hspace=0.05)
            _draw_burndown(fig.add_subplot(inner[0]), c)
            _draw_burn_rates(fig.add_subplot(inner[1]), c)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buf.getvalue()


def _dates(ts: list[float]) -> list[float]:
    from matplotlib import dates as mdates
    return [float(mdates.date2num(datetime.fromtimestamp(t, UTC))) for t in ts]


def _draw_burndown(ax: Any, c: ChartData) -> None:
    from matplotlib import dates as mdates
    from matplotlib.ticker import PercentFormatter

    x0, x1 = _dates([c.window_start, c.window_end])
    def visible(a: float, b: float) -> tuple[float, float]:
        """A span at least 1/400 of the window wide, so a short one stays visible at this width."""
        da, db = _dates([a, b])
        if db - da < (x1 - x0) / 400:
            mid, half = (da + db) / 2, (x1 - x0) / 800
            da, db = mid - half, mid + half
        return da, db

    for k, (a, b) in enumerate(c.gap_spans):
        ga, gb = visible(a, b)
        ax.axvspan(ga, gb, color="#9e9e9e", alpha=0.35, lw=0, label="no data" if k == 0 else None)
    for k, (a, b, consumed) in enumerate(c.burn_spans):
        ba, bb = visible(a, b)
        ax.axvspan(ba, bb, color="#ff9800", alpha=0.35, lw=0,
                   label="periods that burned the budget" if k == 0 else None)
        if consumed is not None:
            ax.annotate(f"{consumed * 100:.1f}%", xy=((ba + bb) / 2, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, -2), textcoords="offset points", ha="center", va="top", fontsize=7,
                        color="#a65c00")
    seen: set[str] = set()
    for a, b, sev in c.alert_spans:  # firing alerts: a band along the bottom of the panel
        fa, fb = visible(a, b)
        color = "#7b1fa2" if sev in ("page", "critical") else "#d81b60"
        ax.axvspan(fa, fb, ymin=0.0, ymax=0.05, color=color, alpha=0.9, lw=0,
                   label=f"{sev} alert firing" if sev not in seen else None)
        seen.add(sev)
    ix, iy = zip(*c.ideal, strict=True)
    ax.plot(_dates(list(ix)), list(iy), color="#888888", ls="--", lw=1, label="ideal linear burn")
    ax.axhline(0.0, color="#c62828", lw=1, label="budget exhausted")
    if c.times:
        ax.plot(_dates(c.times), c.remaining, color="#1f77b4", lw=1.8, label="remaining error budget")
        lo, hi = min(0.0, *c.remaining), max(1.0, *c.remaining)
    else:
        ax.text(0.5, 0.5, "no data in the window", transform=ax.transAxes, ha="center", va="center",
                color="#666666")
        lo, hi = 0.0, 1.0
    pad = (hi - lo) * 0.06
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(x0, x1)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylabel("error budget remaining")
    locator = mdates.AutoDateLocator(tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    ax.grid(True, color="#e5e5e5", lw=0.6)
    ax.set_title(c.title + "\n" + c.subtitle, loc="left", color=COLORS[c.status])
    ax.legend(loc="best", fontsize=7, framealpha=0.85)


def _draw_burn_rates(ax: Any, c: ChartData) -> None:
    from matplotlib.ticker import FuncFormatter

    if not c.windows:
        ax.set_axis_off()
        return
    xs = list(range(len(c.windows)))
    heights = [0.0 if r is None else r for r in c.burn_rates]
    colors = []
    for r, ths in zip(c.burn_rates, c.thresholds, strict=True):
        over = r is not None and any(r > t.factor for t in ths)
        colors.append("#c62828" if over else ("#bbbbbb" if r is None else "#1f77b4"))
    ax.bar(xs, heights, color=colors, width=0.6)
    drawn = False
    for x, ths in zip(xs, c.thresholds, strict=True):
        for t in ths:
            ax.hlines(t.factor, x - 0.38, x + 0.38, color="#222222", lw=1.5,
                      label="alert threshold" if not drawn else None)
            drawn = True
    ax.axhline(1.0, color="#888888", ls="--", lw=1, label="1x: budget lasts the window")
    for x, r in zip(xs, c.burn_rates, strict=True):
        ax.annotate("n/a" if r is None else f"{r:.2f}x", xy=(x, 0 if r is None else r), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
    top = max([1.0, *heights, *(t.factor for ths in c.thresholds for t in ths)])
    ax.set_yscale("symlog", linthresh=1.0)  # 0..1x linear, above that logarithmic
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
    ax.set_ylim(0, top * 2.5)
    ax.set_xticks(xs, c.windows)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_ylabel("burn rate")
    ax.set_xlabel("burn rate over the last window, at the report end (red: above its alert threshold)")
    ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=7, frameon=False)


def write_png(doc: dict[str, Any], path: Path) -> None:
    """Write the PNG atomically (a temporary file beside `path`, then rename)."""
    data = png_bytes(doc)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the PNG: {exc.strerror or exc}", str(path)) from None
