"""Multi-window multi-burn-rate alert windows (Google SRE workbook, as sloth ships them).

Windows come from a catalog keyed by SLO period, as in sloth: the built-in catalog holds sloth's
`google-30d` (page 2% of the budget in 1h (14.4x, short window 5m) or 5% in 6h (6x, 30m); ticket 10% in
1d (3x, 2h) or 10% in 3d (1x, 6h)) and `google-28d` (same windows and budget percentages, so factors
13.44 / 5.6 / 2.8 / 0.933). Other periods come from sloth `AlertWindows` files (`sloth generate
--slo-period-windows-path`, `opsctl slo ... --slo-period-windows-path DIR`), which replace the built-in
catalog as in sloth. A period with no catalog entry is refused, as sloth refuses it: scaling the 30-day
windows down would give a 7-day SLO a fragile page window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.errors import InputError

DAY = 86400.0
MINUTE = 60.0


@dataclass(frozen=True)
class AlertWindow:
    severity: str  # page | ticket
    speed: str  # quick | slow
    budget_percent: float
    short: float  # seconds
    long: float  # seconds
    period: float  # seconds

    @property
    def factor(self) -> float:
        """Burn-rate factor: consuming `budget_percent` of the budget within `long` (sloth's formula)."""
        hours_required = self.budget_percent * (self.period / 3600) / 100
        return hours_required / (self.long / 3600)


@dataclass(frozen=True)
class WindowSet:
    period: float
    page_quick: AlertWindow
    page_slow: AlertWindow
    ticket_quick: AlertWindow
    ticket_slow: AlertWindow

    def all(self) -> list[AlertWindow]:
        return [self.page_quick, self.page_slow, self.ticket_quick, self.ticket_slow]

    def distinct(self) -> list[float]:
        """The distinct short and long windows, ascending (the SLI recording-rule windows, minus the period)."""
        return sorted({w for a in self.all() for w in (a.short, a.long)})


_BASE = (  # (severity, speed, budget %, short, long) for 30 days
    ("page", "quick", 2.0, 5 * MINUTE, 60 * MINUTE),
    ("page", "slow", 5.0, 30 * MINUTE, 6 * 60 * MINUTE),
    ("ticket", "quick", 10.0, 2 * 60 * MINUTE, DAY),
    ("ticket", "slow", 10.0, 6 * 60 * MINUTE, 3 * DAY),
)


def _base_set(period: float) -> WindowSet:
    ws = [AlertWindow(sev, speed, pct, short, long, period) for sev, speed, pct, short, long in _BASE]
    return WindowSet(period, ws[0], ws[1], ws[2], ws[3])


@dataclass
class WindowCatalog:
    """Alert windows per SLO period (seconds). Starts with sloth's built-in 28d and 30d sets."""

    sets: dict[float, WindowSet] = field(default_factory=lambda: {28 * DAY: _base_set(28 * DAY),
                                                                   30 * DAY: _base_set(30 * DAY)})
    sources: dict[float, str] = field(default_factory=lambda: {28 * DAY: "built-in google-28d",
                                                                30 * DAY: "built-in google-30d"})

    def add(self, ws: WindowSet, source: str) -> None:
        self.sets[ws.period] = ws
        self.sources[ws.period] = source

    def get(self, period: float) -> WindowSet:
        ws = self.sets.get(period)
        if ws is None:
            known = ", ".join(prom_duration(p) for p in sorted(self.sets))
            raise InputError(f"no alert windows for an SLO period of {prom_duration(period)} (catalogs: {known}); "
                             "give an AlertWindows file for it with --slo-period-windows-path DIR, as sloth "
                             "requires", "<windows>")
        return ws


BUILTIN = WindowCatalog()


def windows_for(period: float, catalog: WindowCatalog | None = None) -> WindowSet:
    """The alert windows of `period` from `catalog` (default: the built-in 28d/30d catalog).

    Raises InputError when the catalog has no entry for the period (sloth's behaviour)."""
    if period <= 0:
        raise ValueError("the SLO period must be positive")
    return (catalog or BUILTIN).get(period)


def scaled_windows(period: float) -> WindowSet:
    """sloth's 30-day windows scaled by `period / 30d` (whole minutes, at least 1m), budget percentages kept.

    Not used unless asked for (a catalog built with it, e.g. in tests): scaled windows are fragile for short
    periods, which is why sloth and opsctl require a catalog."""
    scale = period / (30 * DAY)
    ws = []
    for sev, speed, pct, short, long in _BASE:
        s = max(MINUTE, round(short * scale / MINUTE) * MINUTE)
        long_s = max(MINUTE, round(long * scale / MINUTE) * MINUTE)
        if long_s <= s:
            long_s = s + MINUTE
        ws.append(AlertWindow(sev, speed, pct, s, long_s, period))
    return WindowSet(period, ws[0], ws[1], ws[2], ws[3])


def parse_alert_windows(doc: object, file: str) -> WindowSet:
    """One sloth `AlertWindows` document (apiVersion sloth.slok.dev/v1) -> WindowSet; errors name file:line:col."""
    from opsctl.durations import parse_duration
    from opsctl.yamlutil import PosDict

    def err(msg: str, node: object = None, key: str | None = None) -> InputError:
        line, col = 0, 0
        if isinstance(node, PosDict):
            line, col = node.value_loc(key) if key is not None and key in node else node.loc
        return InputError(msg, file, line, col)

    def mapping(node: object, where: str, parent: object, key: str) -> PosDict:
        if not isinstance(node, PosDict):
            raise err(f"{where}: expected a mapping", parent, key)
        return node

    def known(node: PosDict, allowed: tuple[str, ...], where: str) -> None:
        for k in node:
            if k not in allowed:
                raise InputError(f"{where}: unknown field {k!r} (allowed: {', '.join(allowed)})", file,
                                 *node.key_loc(k))

    def dur(node: PosDict, key: str, where: str) -> float:
        if key not in node or node[key] in (None, ""):
            raise err(f"{where}: {key!r} is required", node)
        try:
            v = parse_duration(str(node[key]))
        except ValueError as exc:
            raise err(f"{where}.{key}: {exc}", node, key) from None
        if v <= 0:
            raise err(f"{where}.{key}: must be positive", node, key)
        return v

    d = mapping(doc, "document", None, "")
    if d.get("apiVersion") != "sloth.slok.dev/v1" or d.get("kind") != "AlertWindows":
        raise err("not a sloth AlertWindows document (apiVersion: sloth.slok.dev/v1, kind: AlertWindows)", d)
    known(d, ("apiVersion", "kind", "metadata", "spec"), "AlertWindows")
    spec = mapping(d.get("spec"), "spec", d, "spec")
    known(spec, ("sloPeriod", "page", "ticket"), "spec")
    period = dur(spec, "sloPeriod", "spec")
    out: list[AlertWindow] = []
    for sev in ("page", "ticket"):
        sn = mapping(spec.get(sev), f"spec.{sev}", spec, sev)
        known(sn, ("quick", "slow"), f"spec.{sev}")
        for speed in ("quick", "slow"):
            where = f"spec.{sev}.{speed}"
            w = mapping(sn.get(speed), where, sn, speed)
            known(w, ("errorBudgetPercent", "shortWindow", "longWindow"), where)
            pct = w.get("errorBudgetPercent")
            if isinstance(pct, bool) or not isinstance(pct, (int, float)):
                raise err(f"{where}.errorBudgetPercent: expected a number", w, "errorBudgetPercent")
            if not 0 < pct <= 100:
                raise err(f"{where}.errorBudgetPercent: must be in (0, 100]", w, "errorBudgetPercent")
            short, long = dur(w, "shortWindow", where), dur(w, "longWindow", where)
            if short >= long:
                raise err(f"{where}: shortWindow must be shorter than longWindow", w, "shortWindow")
            out.append(AlertWindow(sev, speed, float(pct), short, long, period))
    return WindowSet(period, out[0], out[1], out[2], out[3])


def load_catalog(paths: Iterable[Path | str], base: WindowCatalog | None = None) -> WindowCatalog:
    """Every AlertWindows document in `paths` (files, or directories read for `*.yaml`/`*.yml` recursively).

    As sloth's `--slo-period-windows-path`, the catalog *replaces* the built-in 28d/30d one (give `base` to
    add to a catalog instead). A later file wins a period."""
    from opsctl.yamlutil import load_documents

    cat = base if base is not None else WindowCatalog(sets={}, sources={})
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
        elif path.exists():
            files = [path]
        else:
            raise InputError("no such file or directory", str(path))
        for f in files:
            for doc in load_documents(f):
                if doc is not None:
                    cat.add(parse_alert_windows(doc, str(f)), str(f))
    return cat


def prom_duration(seconds: float) -> str:
    """Prometheus `model.Duration.String()`: weeks and years only when exact (`30d`, `4w`, `1h30m`)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = ""
    units = (("y", 365 * 86400000, True), ("w", 7 * 86400000, True), ("d", 86400000, False),
             ("h", 3600000, False), ("m", 60000, False), ("s", 1000, False), ("ms", 1, False))
    for unit, mult, exact in units:
        if exact and ms % mult != 0:
            continue
        v = ms // mult
        if v > 0:
            out += f"{v}{unit}"
            ms -= v * mult
    return out


def go_g(x: float) -> str:
    """Go's `fmt.Sprintf("%g", x)` for a float64 (shortest representation)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))
    mant, _, exp_s = r.partition("e")
    exp10 = int(exp_s) if exp_s else 0
    int_part, _, frac_part = mant.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    dp = len(int_part) + exp10 - lead_zeros  # position of the decimal point relative to the digits
    digits = digits.rstrip("0") or "0"
    nd = len(digits)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        m = digits[0] + ("." + digits[1:] if nd > 1 else "")
        es = "-" if exp < 0 else "+"
        return f"{sign}{m}e{es}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * (-dp)}{digits}"
    if dp >= nd:
        return f"{sign}{digits}{'0' * (dp - nd)}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"
