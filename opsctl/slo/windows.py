"""Multi-window multi-burn-rate alert windows (Google SRE workbook, as sloth ships them).

For a 30-day SLO: page 2% of the budget in 1h (14.4x, short window 5m) or 5% in 6h (6x, 30m); ticket 10% in
1d (3x, 2h) or 10% in 3d (1x, 6h). 28 days keeps the same windows and budget percentages, so the factors
become 13.44 / 5.6 / 2.8 / 0.933 (exactly sloth's `google-28d.yaml`). Any other period scales the 30-day
windows by `period / 30d` (rounded to whole minutes, at least 1m) and keeps the budget percentages, so the
factors stay 14.4 / 6 / 3 / 1 up to that rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def windows_for(period: float) -> WindowSet:
    if period <= 0:
        raise ValueError("the SLO period must be positive")
    if period in (28 * DAY, 30 * DAY):
        scale = 1.0
    else:
        scale = period / (30 * DAY)
    ws = []
    for sev, speed, pct, short, long in _BASE:
        s = max(MINUTE, round(short * scale / MINUTE) * MINUTE)
        long_s = max(MINUTE, round(long * scale / MINUTE) * MINUTE)
        if long_s <= s:
            long_s = s + MINUTE
        ws.append(AlertWindow(sev, speed, pct, s, long_s, period))
    return WindowSet(period, ws[0], ws[1], ws[2], ws[3])


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
