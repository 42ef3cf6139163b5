"""live-alert-firing: with `--prometheus URL --lookback 7d`, how many times each alerting rule would have
fired over the lookback, for how long, and whether it fired continuously or flapped. See opsctl.rules.live."""

from __future__ import annotations

from collections.abc import Iterator

from opsctl.rules.checks.base import CheckInfo, Context, Issue
from opsctl.rules.model import Severity

CONTINUOUS_SHARE = 0.5  # an instance firing more than this share of the lookback: a warning
FLAPS_WARN = 10  # re-fires of one instance in the lookback at or above which the alert is a warning

INFO = CheckInfo(
    "live-alert-firing", Severity.info,
    "How often each alert would have fired over --lookback on the live Prometheus (--prometheus)",
    "With `--prometheus URL --lookback 7d`, each alerting rule is replayed over the lookback as `opsctl "
    "rules backtest --prometheus` does: the server evaluates the expression with range queries at the "
    "group's interval, and `for`/`keep_firing_for` are applied here. Each alert gets an info finding: how "
    "many times it would have fired, how many instances, total and longest firing time. An alert one "
    f"instance of which would have fired more than {CONTINUOUS_SHARE:.0%} of the lookback (always firing:"
    f" noise, or a threshold that no longer means anything), or one instance of which re-fired {FLAPS_WARN} "
    "times or more after resolving (flapping: consider a longer `for` or `keep_firing_for`), is a warning. Replays are "
    "bounded (a query budget, four queries at a time, each with `--timeout`); an alert that could not be "
    "replayed (over the budget, a query that failed, or a recording rule it reads that is neither on the "
    "server nor exactly inlinable) gets an info finding saying why. Rules read as they would be deployed: "
    "new rules are replayed over past data, exactly what a backtest is for.",
    scope="files",
)


def _dur(seconds: float) -> str:
    from opsctl.durations import format_duration

    return format_duration(max(0, round(seconds)))


def check_files(ctx: Context) -> Iterator[Issue]:
    ev = ctx.config.live
    if ev is None or ev.firing_window is None:
        return
    window = _dur(ev.lookback or (ev.firing_window[1] - ev.firing_window[0]))
    for rf in ctx.files:
        for rule in rf.rules:
            if rule.kind != "alert" or not rule.name:
                continue
            why = ev.firing_skipped.get(rule.name)
            if why is not None:
                yield Issue(f"{rule.name}: firing over the last {window} not known: {why}", rule.loc("alert"),
                            rule=rule)
                continue
            a = ev.firing.get(rule.name)
            if a is None:
                continue
            if not a.fired:
                yield Issue(f"{rule.name} would not have fired in the last {window} on {ev.server}"
                            + (f" ({a.pending_only} pending activation(s) that `for` filtered out)"
                               if a.pending_only else ""), rule.loc("alert"), rule=rule)
                continue
            share = a.firing_seconds / a.window if a.window else 0.0
            text = (f"{rule.name} would have fired {a.fired} time(s) in the last {window} on {ev.server} "
                    f"({a.instances} instance(s)), firing {_dur(a.firing_seconds)} in total"
                    f"{f' ({share:.0%} of the window summed over instances)' if a.instances > 1 else ''}, "
                    f"longest {_dur(a.longest_seconds)}"
                    + (f", {a.flaps} re-fire(s) after resolving"
                       + (f" (at most {a.top_instance_flaps} of one instance)" if a.instances > 1 else "")
                       if a.flaps else ""))
            loud = []
            if a.continuous:
                loud.append(f"one instance fired for {a.top_instance_seconds / a.window:.0%} of the window: an "
                            "alert that is always firing is noise (or its threshold no longer means anything)")
            if a.flapping:
                loud.append(f"it flapped (one instance re-fired {a.top_instance_flaps} times after resolving): "
                            "consider a longer `for` or `keep_firing_for`")
            if loud:
                yield Issue(f"{text}; {'; '.join(loud)}", rule.loc("alert"), severity=Severity.warning, rule=rule)
            else:
                yield Issue(text, rule.loc("alert"), rule=rule)
