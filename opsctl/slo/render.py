"""Human renderings of SLO reports: plain-text summary with a terminal burn-down chart, and a standalone
HTML page with an inline SVG burn-down chart (no JavaScript, no external assets, no extra dependency)."""

from __future__ import annotations

import html
import math
from typing import Any

from opsctl.slo.windows import prom_duration


def pct(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    return f"{x * 100:.{digits}f}%"


def num(x: float | None) -> str:
    if x is None:
        return "n/a"
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e15:
        return f"{round(x):,}"
    return f"{x:,.2f}"


def burn(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def dur(seconds: float) -> str:
    return prom_duration(seconds)


def chart(points: list[dict[str, Any]], width: int = 60, height: int = 10) -> list[str]:
    """A terminal chart of the remaining error budget (one column per time bucket)."""
    vals = [p["remaining_ratio"] for p in points if p["remaining_ratio"] is not None]
    if not vals:
        return ["(no data)"]
    n = len(vals)
    cols = min(width, n)
    buckets = [vals[min(n - 1, int((i + 1) * n / cols) - 1)] for i in range(cols)]
    top = max(1.0, max(buckets))
    bottom = min(0.0, min(buckets))
    span = top - bottom or 1.0
    rows = []
    for r in range(height, -1, -1):
        level = bottom + span * r / height
        label = f"{level * 100:6.0f}% |"
        line = []
        for v in buckets:
            y = round((v - bottom) / span * height)
            if y == r:
                line.append("*")
            elif r == round((0 - bottom) / span * height):
                line.append("-")
            else:
                line.append(" ")
        rows.append(label + "".join(line))
    rows.append(" " * 8 + "+" + "-" * cols)
    first, last = points[0]["time"], points[-1]["time"]
    rows.append(" " * 9 + first[:16] + " " * max(1, cols - 32) + last[:16])
    return rows


def group_label(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def alert_states(alerts: list[dict[str, Any]]) -> str:
    return "; ".join(f"{a['severity']} " + ("n/a" if a["firing"] is None else ("FIRING" if a["firing"]
                                                                                 else "not firing"))
                     for a in alerts)


def text_report(doc: dict[str, Any], daily_rows: int = 31) -> str:
    out: list[str] = []
    for s in doc["slos"]:
        w = s["window"]
        out.append(f"SLO {s['id']}  ({s['spec']}, objective {s['objective']:g}%, {s['budgeting']}, "
                   f"{w['kind']} {dur(w['period_seconds'])}, step {dur(w['step_seconds'])})")
        if s.get("description"):
            out.append(f"  {s['description']}")
        out.append(f"  window        {w['start']} .. {w['end']}  (data until {w['data_end']})")
        verdict = {"ok": "OK", "violated": "VIOLATED", "no_data": "NO DATA"}[s["status"]]
        cmp_ = ">=" if s["status"] == "ok" else "<"
        if s["sli"] is None:
            out.append(f"  status        {verdict}: no events in the window")
        else:
            out.append(f"  status        {verdict}: SLI {pct(s['sli'], 4)} {cmp_} objective {s['objective']:g}%")
        ev = s["events"]
        unit = s["unit"]
        out.append(f"  {unit:<13} {num(ev['total'])} total, {num(ev['bad'])} bad, {num(ev['good'])} good"
                   + (f" ({s['idle_slices']} idle slices counted good)" if s.get("idle_slices") else ""))
        eb = s["error_budget"]
        out.append(f"  error budget  {num(eb['total'])} total, {num(eb['consumed'])} consumed "
                   f"({pct(eb['consumed_ratio'], 1)}), {num(eb['remaining'])} remaining "
                   f"({pct(eb['remaining_ratio'], 1)})")
        out.append("  burn rates    " + "  ".join(
            f"{b['window']}{'' if b['effective_seconds'] == b['seconds'] else '~' + dur(b['effective_seconds'])} "
            f"{burn(b['burn_rate'])}" for b in s["burn_rates"]))
        al = []
        for a in s["alerts"]:
            state = "n/a" if a["firing"] is None else ("FIRING" if a["firing"] else "not firing")
            al.append(f"{a['severity']} {state}")
        out.append("  alerts now    " + "; ".join(al))
        if s.get("groups"):
            by = ", ".join(s["group_by"]) if s.get("group_by") else "the labels the SLI keeps"
            out.append(f"  groups        {len(s['groups'])} (by {by}); the figures above are their total:")
            out.append(f"    {'group':<40} {'SLI':>10} {'status':>9} {'budget left':>12}  alerts now")
            for grp in s["groups"]:
                out.append(f"    {group_label(grp['labels']):<40} {pct(grp['sli'], 3):>10} "
                           f"{grp['status']:>9} {pct(grp['error_budget']['remaining_ratio'], 1):>12}  "
                           f"{alert_states(grp['alerts'])}")
        hist = s.get("alert_history")
        if hist is not None:
            eps = hist["alerts"]
            out.append(f"  alert history {len(eps)} firing episode(s) of the generated alerts over the window"
                       + (":" if eps else ""))
            for a in eps[:20]:
                end = a["resolved_at"] or "still firing"
                out.append(f"    {a['severity']:<8} {a['alert']:<28} {a['fired_at']} .. {end}  "
                           f"({dur(a['firing_seconds'])})")
            if len(eps) > 20:
                out.append(f"    ... {len(eps) - 20} more (see --format json)")
        g = s["gaps"]
        if g["ranges"]:
            out.append(f"  data gaps     {len(g['ranges'])}, {dur(g['unknown_seconds'])} without data "
                       f"(coverage {pct(g['coverage'], 1)}); not counted as good or bad:")
            for r in g["ranges"][:10]:
                out.append(f"                {r['start']} .. {r['end']}  ({dur(r['seconds'])})")
            if len(g["ranges"]) > 10:
                out.append(f"                ... {len(g['ranges']) - 10} more (see --format json)")
        else:
            out.append("  data gaps     none")
        if s["burn_periods"]:
            out.append("  periods that burned the budget (by budget consumed):")
            out.append(f"    {'start':<21} {'end':<21} {'duration':>9} {'consumed':>9} {'peak burn':>10}")
            for p in s["burn_periods"]:
                out.append(f"    {p['start']:<21} {p['end']:<21} {dur(p['seconds']):>9} "
                           f"{pct(p['budget_consumed_ratio'], 1):>9} {burn(p['peak_burn_rate']):>10}")
        days = [d for d in s["daily"] if d["total"] > 0 or d["unknown_seconds"] < 86400]
        skipped = len(s["daily"]) - len(days)
        out.append("  daily (UTC):" + (f"  ({skipped} days without any data not shown)" if skipped else ""))
        out.append(f"    {'date':<10} {'total':>14} {'bad':>12} {'SLI':>10} {'budget':>8} {'no data':>8}")
        for d in days[-daily_rows:]:
            out.append(f"    {d['date']:<10} {num(d['total']):>14} {num(d['bad']):>12} {pct(d['sli'], 3):>10} "
                       f"{pct(d['budget_consumed_ratio'], 1):>8} {dur(d['unknown_seconds']):>8}")
        out.append("  error budget remaining (burn-down):")
        out.extend("    " + line for line in chart(s["burndown"]))
        out.append("")
    out.append(f"{len(doc['slos'])} SLO(s): {doc['violated']} violated, {doc['no_data']} without data")
    return "\n".join(out) + "\n"


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (multiples of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi], about `target` of them."""
    span = hi - lo if hi > lo else 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    count = round((last - first) / step)
    return [round(first + i * step, 12) for i in range(count + 1)]


def _svg_chart(points: list[dict[str, Any]], width: int = 720, height: int = 240) -> str:
    vals = [(i, p["remaining_ratio"]) for i, p in enumerate(points) if p["remaining_ratio"] is not None]
    if not vals:
        return "<p>No data.</p>"
    n = max(1, len(points) - 1)
    ticks = nice_ticks(min(0.0, min(v for _, v in vals)), max(1.0, max(v for _, v in vals)))
    bottom, top = ticks[0], ticks[-1]
    span = (top - bottom) or 1.0
    pad_l, pad_b, pad_t = 56, 28, 10
    pw, ph = width - pad_l - 10, height - pad_b - pad_t

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_l + pw * i / n, pad_t + ph * (1 - (v - bottom) / span)

    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in vals))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="error budget burn-down">',
             f'<rect x="{pad_l}" y="{pad_t}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    for v in ticks:
        _, y = xy(0, v)
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                     f'{round(v * 100, 6):g}%</text>')
    _, y0 = xy(0, 0.0)
    parts.append(f'<line x1="{pad_l}" x2="{pad_l + pw}" y1="{y0:.1f}" y2="{y0:.1f}" stroke="#c00" '
                 'stroke-dasharray="4 3"/>')
    parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{pts}"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 8}" font-size="11">{html.escape(points[0]["time"])}</text>')
    parts.append(f'<text x="{pad_l + pw}" y="{height - 8}" font-size="11" text-anchor="end">'
                 f'{html.escape(points[-1]["time"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(doc: dict[str, Any]) -> str:
    e = html.escape
    body: list[str] = []
    for s in doc["slos"]:
        eb = s["error_budget"]
        color = {"ok": "#2a7", "violated": "#c22", "no_data": "#888"}[s["status"]]
        body.append(f"<section><h2>{e(s['id'])}</h2>")
        if s.get("description"):
            body.append(f"<p>{e(s['description'])}</p>")
        body.append("<table class='kv'>")
        rows = [
            ("Status", f"<b style='color:{color}'>{e(s['status'].upper())}</b>"),
            ("SLI", e(pct(s["sli"], 4))), ("Objective", e(f"{s['objective']:g}%")),
            ("Window", e(f"{s['window']['kind']} {dur(s['window']['period_seconds'])}: {s['window']['start']} .. "
                         f"{s['window']['end']}")),
            ("Events", e(f"{num(s['events']['total'])} total, {num(s['events']['bad'])} bad ({s['unit']})")),
            ("Error budget", e(f"{num(eb['total'])} total, {num(eb['consumed'])} consumed "
                               f"({pct(eb['consumed_ratio'], 1)}), {pct(eb['remaining_ratio'], 1)} remaining")),
            ("Burn rates", e("  ".join(f"{b['window']} {burn(b['burn_rate'])}" for b in s["burn_rates"]))),
            ("Alerts now", e(alert_states(s["alerts"]))),
            ("Data gaps", e(f"{len(s['gaps']['ranges'])} ({dur(s['gaps']['unknown_seconds'])} without data, "
                            f"coverage {pct(s['gaps']['coverage'], 1)})")),
        ]
        body.extend(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        body.append("</table>")
        if s.get("groups"):
            body.append(f"<h3>Groups ({len(s['groups'])})</h3><table><tr><th>group</th><th>SLI</th><th>status</th>"
                        "<th>budget remaining</th><th>alerts now</th></tr>")
            for grp in s["groups"]:
                body.append(f"<tr><td>{e(group_label(grp['labels']))}</td><td>{e(pct(grp['sli'], 3))}</td>"
                            f"<td>{e(grp['status'])}</td><td>{e(pct(grp['error_budget']['remaining_ratio'], 1))}"
                            f"</td><td>{e(alert_states(grp['alerts']))}</td></tr>")
            body.append("</table>")
        hist = s.get("alert_history")
        if hist is not None:
            body.append(f"<h3>Alert history ({len(hist['alerts'])} firing episodes)</h3>")
            if hist["alerts"]:
                body.append("<table><tr><th>severity</th><th>alert</th><th>fired</th><th>resolved</th>"
                            "<th>firing</th></tr>")
                for a in hist["alerts"]:
                    body.append(f"<tr><td>{e(a['severity'])}</td><td>{e(a['alert'])}</td><td>{e(a['fired_at'])}</td>"
                                f"<td>{e(a['resolved_at'] or 'still firing')}</td>"
                                f"<td>{e(dur(a['firing_seconds']))}</td></tr>")
                body.append("</table>")
        body.append("<h3>Error budget burn-down</h3>")
        body.append(_svg_chart(s["burndown"]))
        if s["burn_periods"]:
            body.append("<h3>Periods that burned the budget</h3><table><tr><th>start</th><th>end</th>"
                        "<th>duration</th><th>budget consumed</th><th>peak burn rate</th></tr>")
            for p in s["burn_periods"]:
                body.append(f"<tr><td>{e(p['start'])}</td><td>{e(p['end'])}</td><td>{e(dur(p['seconds']))}</td>"
                            f"<td>{e(pct(p['budget_consumed_ratio'], 1))}</td>"
                            f"<td>{e(burn(p['peak_burn_rate']))}</td></tr>")
            body.append("</table>")
        if s["gaps"]["ranges"]:
            body.append("<h3>Data gaps</h3><table><tr><th>start</th><th>end</th><th>duration</th></tr>")
            for r in s["gaps"]["ranges"]:
                body.append(f"<tr><td>{e(r['start'])}</td><td>{e(r['end'])}</td><td>{e(dur(r['seconds']))}</td></tr>")
            body.append("</table>")
        body.append("<h3>Daily</h3><table><tr><th>date (UTC)</th><th>total</th><th>bad</th><th>SLI</th>"
                    "<th>budget consumed</th><th>no data</th></tr>")
        for d in s["daily"]:
            if d["total"] == 0 and d["unknown_seconds"] >= 86400:
                continue
            body.append(f"<tr><td>{e(d['date'])}</td><td>{e(num(d['total']))}</td><td>{e(num(d['bad']))}</td>"
                        f"<td>{e(pct(d['sli'], 3))}</td><td>{e(pct(d['budget_consumed_ratio'], 1))}</td>"
                        f"<td>{e(dur(d['unknown_seconds']))}</td></tr>")
        body.append("</table></section>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}"
             "table.kv th{background:#f4f4f4;width:10em}section{margin-bottom:3em}")
    title = f"SLO report: {doc['violated']} violated of {len(doc['slos'])}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{style}</style></head><body><h1>{e(title)}</h1>{''.join(body)}</body></html>\n")


def is_finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
