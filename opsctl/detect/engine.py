"""One cron run of `opsctl detect run`: lock, detect, alert (dedup, suppression, maintenance, routing),
remediate, deliver (with retries and the spool), record, write metrics.

Exit code: 0 when every result is ok, every detector ran and nothing is left undelivered; 1 otherwise
(and when another run holds the lock). Bad configuration raises InputError (exit 2) before anything runs.
`RunReport.exit_code_for("new")` is the cron-friendly variant: 1 only for a new (or escalated) problem or
a failure to deliver or remediate, 0 while a known problem keeps firing and its receivers already know.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from opsctl.live.tls import TLSOptions
from opsctl.secrets import redact, redact_obj

from .anomaly_check import run_anomaly
from .checks import CHECKS
from .checks.base import Context
from .config import DetectorConfig, LoadedConfig
from .metrics import write_textfile
from .notifiers import NOTIFIERS, DeliveryError, Notifier
from .registry import ANOMALY_DETECTORS
from .remediation import ACTIONS, ActionError
from .result import CheckResult, make_fingerprint, severity_rank
from .sources import Sources
from .state import State

REPORT_SCHEMA_VERSION = 1
NEW_EVENTS = ("firing", "escalated")  # notification events that announce a new or worse problem


class LockedError(Exception):
    """Another run holds the lock."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking flock; released when the process ends, even on a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another run holds the lock {path}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


@dataclass
class RunReport:
    started: datetime
    dry_run: bool
    results: list[CheckResult] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    remediations: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("checks", "failures", "errors", "notifications", "deduplicated", "suppressed", "delivered",
         "delivery_failures", "spool_pending", "remediations", "remediation_failures"), 0))
    exit_code: int = 0
    changes: int = 0  # alert events recorded (firing, held back, resolved, ...)
    refreshed: int = 0  # deliveries that only refreshed an alert its receiver already has (Alertmanager)
    duration_seconds: float = 0.0
    finished_unix: float = 0.0

    @property
    def new_problems(self) -> int:
        """Notifications of this run about a new or escalated problem."""
        return sum(1 for n in self.notifications if n["event"] in NEW_EVENTS)

    @property
    def noteworthy(self) -> bool:
        """Something was sent or queued, recorded as a change, or failed: what `--quiet` prints for."""
        c = self.counts
        return bool(self.notifications or self.remediations or c["delivered"] > self.refreshed
                    or c["delivery_failures"] or c["remediation_failures"] or self.changes)

    def exit_code_for(self, mode: str = "firing") -> int:
        """`firing` (default): 0 all ok, 1 anything failing or undelivered. `new`: 1 only for a new or
        escalated problem, a failed delivery or remediation; 0 while known problems keep firing."""
        if mode == "firing":
            return self.exit_code
        c = self.counts
        return 1 if (self.new_problems or c["delivery_failures"] or c["remediation_failures"]) else 0

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = redact_obj(self._to_dict())
        return doc

    def _to_dict(self) -> dict[str, Any]:
        detector_ok: dict[str, bool] = {}
        for r in self.results:
            detector_ok[r.detector] = detector_ok.get(r.detector, True) and r.ok
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "started": self.started.isoformat(),
            "finished_unix": self.finished_unix,
            "duration_seconds": round(self.duration_seconds, 6),
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "new_problems": self.new_problems,
            "noteworthy": self.noteworthy,
            "counts": self.counts,
            "results": [r.to_dict() for r in self.results],
            "durations": {k: round(v, 6) for k, v in self.durations.items()},
            "detector_ok": detector_ok,
            "notifications": self.notifications,
            "deliveries": self.deliveries,
            "remediations": self.remediations,
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)


def evaluate_detector(d: DetectorConfig, ctx: Context) -> list[CheckResult]:
    """Run one detector; a failure to run becomes one not-ok result flagged `error`."""
    try:
        if d.kind in ANOMALY_DETECTORS:
            results = run_anomaly(d, ctx.sources, ctx.now)
        else:
            results = CHECKS[d.kind](d).run(ctx)
        for r in results:
            r.extras = redact_obj(_jsonable(r.extras))
            r.message = redact(r.message)  # alert text goes to receivers, the state and the output
        return results
    except Exception as exc:  # cron must report, not crash: any failure is a result
        labels = dict(d.labels)
        return [CheckResult(False, d.severity, redact(f"detector could not run: {type(exc).__name__}: {exc}"),
                            make_fingerprint(d.name + ":error", labels), {}, d.name, labels, error=True)]


class Engine:
    def __init__(self, lc: LoadedConfig, *, now: datetime | None = None, dry_run: bool = False,
                 sleep: Any = time.sleep) -> None:
        self.lc = lc
        self.cfg = lc.config
        self.now = now or datetime.now(UTC)
        self.dry_run = dry_run
        self.sleep = sleep
        self.notifiers: dict[str, Notifier] = {
            name: NOTIFIERS[body["type"]](name, {k: v for k, v in body.items() if k != "type"}, lc.base)
            for name, body in self.cfg.alerting.receivers.items()
        }

    # -- routing and windows ------------------------------------------------------------------------
    def receivers_for(self, r: CheckResult, severity: str) -> list[str]:
        routes = self.cfg.alerting.routes
        if not routes:
            return list(self.notifiers)
        out: list[str] = []
        for route in routes:
            if route.severities and severity not in route.severities:
                continue
            if route.min_severity and severity_rank(severity) < severity_rank(route.min_severity):
                continue
            if any(r.labels.get(k) != v for k, v in route.match.items()):
                continue
            if route.detectors and not any(fnmatch.fnmatchcase(r.detector, g) for g in route.detectors):
                continue
            out += [x for x in route.receivers if x not in out]
        return out

    def in_maintenance(self, detector: str, labels: dict[str, str]) -> str | None:
        for w in self.cfg.alerting.maintenance:
            if not (w.start <= self.now < w.end):
                continue
            if w.detectors and not any(fnmatch.fnmatchcase(detector, g) for g in w.detectors):
                continue
            if any(labels.get(k) != v for k, v in w.labels.items()):
                continue
            return w.reason or f"maintenance until {w.end.isoformat()}"
        return None

    def suppressed(self, severity: str) -> bool:
        return any(severity in w.severities and w.active(self.now) for w in self.cfg.alerting.suppress)

    # -- the run ------------------------------------------------------------------------------------
    def run(self, textfile: Path | None = None) -> RunReport:
        with run_lock(self.lc.lock_path):
            return self._run_locked(textfile)

    def _run_locked(self, textfile: Path | None) -> RunReport:
        t0 = time.perf_counter()
        report = RunReport(self.now, self.dry_run)
        state = State(self.lc.state_path)
        sources = Sources(self.lc)
        self._sources = sources
        self._pending_remediation: list[tuple[CheckResult, DetectorConfig]] = []
        self._refreshes: set[tuple[str, str]] = set()
        now_ts = self.now.timestamp()
        try:
            run_id = 0 if self.dry_run else state.run_started(now_ts)
            ctx = Context(self.lc, sources, state, self.now)
            ran_ok: set[str] = set()
            for d in self.cfg.detectors:
                t = time.perf_counter()
                results = evaluate_detector(d, ctx)
                report.durations[d.name] = time.perf_counter() - t
                if not any(r.error for r in results):
                    ran_ok.add(d.name)
                for r in results:
                    report.results.append(r)
                    self._alert(r, d, state, report)
                if not self.dry_run:
                    state.commit()
            self._resolve_vanished(state, report, ran_ok)
            if not self.dry_run:
                state.commit()
                self._deliver(state, report)
            for r, d in self._pending_remediation:
                self._remediate(state, report, r, d)
            if not self.dry_run:
                state.commit()
            report.counts["spool_pending"] = len(state.spool_pending())
            report.counts["checks"] = len(report.results)
            report.counts["failures"] = sum(1 for r in report.results if not r.ok)
            report.counts["errors"] = sum(1 for r in report.results if r.error)
            failed = (report.counts["failures"] or report.counts["delivery_failures"]
                      or report.counts["remediation_failures"] or report.counts["spool_pending"])
            report.exit_code = 1 if failed else 0
            report.duration_seconds = time.perf_counter() - t0
            report.finished_unix = time.time()
            if self.dry_run:
                state.db.rollback()
            else:
                state.prune(now_ts - self.cfg.history_retention)
                state.run_finished(run_id, report.finished_unix, report.exit_code, report.counts)
        finally:
            sources.close()
            state.close()
        if textfile is not None:
            write_textfile(textfile, report.to_dict())
        return report

    def _payload(self, r: CheckResult, d: DetectorConfig | None, status: str, severity: str,
                 first_seen: float) -> dict[str, Any]:
        return {
            "fingerprint": r.fingerprint,
            "detector": r.detector,
            "status": status,
            "severity": severity,
            "message": r.message,
            "labels": r.labels,
            "extras": r.extras,
            "starts_at": datetime.fromtimestamp(first_seen, UTC).isoformat().replace("+00:00", "Z"),
            "ends_at": self.now.isoformat().replace("+00:00", "Z") if status == "resolved" else None,
            "summary": d.summary if d and d.summary else None,
            "runbook_url": d.runbook_url if d else None,
        }

    def _notify(self, state: State, report: RunReport, r: CheckResult, d: DetectorConfig | None, status: str,
                severity: str, first_seen: float, event: str, receivers: list[str]) -> None:
        payload = self._payload(r, d, status, severity, first_seen)
        for rec in receivers:
            if not self.dry_run:
                state.spool_add(self.now.timestamp(), rec, r.fingerprint, status, payload,
                                coalesce=self.notifiers[rec].refresh_firing and status == "firing")
        report.notifications.append({"fingerprint": r.fingerprint, "detector": r.detector, "event": event,
                                     "status": status, "severity": severity, "receivers": receivers,
                                     "message": r.message})

    def _alert(self, r: CheckResult, d: DetectorConfig, state: State, report: RunReport) -> None:
        now = self.now.timestamp()
        al = self.cfg.alerting
        row = state.alert(r.fingerprint)
        firing = row is not None and row["status"] == "firing"
        receivers = self.receivers_for(r, r.severity)
        if r.ok:
            if not firing:
                return
            assert row is not None
            self._resolve(state, report, r, d, row, "resolved")
            return
        first_seen = float(row["first_seen"]) if firing and row is not None else now
        hold = None
        if severity_rank(r.severity) < severity_rank(al.min_severity):
            hold = "below_min_severity"
        elif self.in_maintenance(r.detector, r.labels):
            hold = "maintenance"
        elif self.suppressed(r.severity):
            hold = "suppressed"
        if hold is not None:
            report.counts["suppressed"] += 1
            state.upsert_alert(r.fingerprint, r.detector, "firing", r.severity, r.message, r.labels, now)
            if not firing or (row is not None and row["severity"] != r.severity):
                state.event(now, r.fingerprint, r.detector, hold, r.severity, r.message)
                report.changes += 1
            return
        event = None
        if not firing:
            event = "firing"
        else:
            assert row is not None
            if not row["notified"]:
                event = "firing"
            elif severity_rank(r.severity) > severity_rank(row["severity"]):
                event = "escalated"
            elif now - float(row["last_notified"] or 0) >= al.dedup_for(r.severity):
                event = "repeat"
        if event == "repeat" and state.acked(r.fingerprint, now):
            event = None  # acknowledged (`opsctl detect ack`): no repeats until it resolves or the ack ends
        if event is None:
            report.counts["deduplicated"] += 1
            state.upsert_alert(r.fingerprint, r.detector, "firing", r.severity, r.message, r.labels, now)
            refresh = [x for x in receivers if self.notifiers[x].refresh_firing]
            if refresh and not self.dry_run:
                payload = self._payload(r, d, "firing", r.severity, first_seen)
                for rec in refresh:
                    state.spool_add(now, rec, r.fingerprint, "firing", payload, coalesce=True)
                    self._refreshes.add((rec, r.fingerprint))
            return
        report.counts["notifications"] += 1
        state.upsert_alert(r.fingerprint, r.detector, "firing", r.severity, r.message, r.labels, now, notified=True)
        state.event(now, r.fingerprint, r.detector, event, r.severity, r.message)
        self._notify(state, report, r, d, "firing", r.severity, first_seen, event, receivers)
        if event == "firing" and d.remediate:
            self._pending_remediation.append((r, d))  # after delivery: tell people first

    def _resolve(self, state: State, report: RunReport, r: CheckResult, d: DetectorConfig | None,
                 row: Any, why: str) -> None:
        now = self.now.timestamp()
        state.upsert_alert(r.fingerprint, r.detector, "resolved", row["severity"], r.message, r.labels, now)
        state.event(now, r.fingerprint, r.detector, why, row["severity"], r.message)
        state.ack_clear(r.fingerprint)  # an ack ends with the problem
        if row["notified"] and self.cfg.alerting.send_resolved and not self.in_maintenance(r.detector, r.labels):
            receivers = self.receivers_for(r, row["severity"])
            report.counts["notifications"] += 1
            self._notify(state, report, r, d, "resolved", row["severity"], float(row["first_seen"]), why, receivers)

    def _resolve_vanished(self, state: State, report: RunReport, ran_ok: set[str]) -> None:
        """Firing alerts of detectors that ran fine but no longer report them (series gone, detector
        removed from the config) are resolved too, so nothing stays firing forever downstream."""
        seen = {r.fingerprint for r in report.results}
        names = {d.name: d for d in self.cfg.detectors}
        for row in state.firing():
            fp, det = row["fingerprint"], row["detector"]
            if fp in seen:
                continue
            if det in names and det not in ran_ok:
                continue  # that detector failed this run: we know nothing new
            if det in names and fp == make_fingerprint(det + ":error", json.loads(row["labels"])):
                why = "resolved"  # the detector runs again
            else:
                why = "resolved" if det in names else "resolved_detector_removed"
            labels = json.loads(row["labels"])
            r = CheckResult(True, row["severity"], f"cleared: {row['message']}", fp, {}, det, labels)
            self._resolve(state, report, r, names.get(det), row, why)

    # -- remediation ---------------------------------------------------------------------------------
    def remediate_on_purpose(self, detector: str, who: str = "") -> RunReport:
        """`opsctl detect remediate`: run a detector's mapped actions now, with the same allow-list, switch,
        retries and audit (the remediations table) as a run; recorded as a `remediate` event."""
        from opsctl.errors import InputError

        names = {d.name: d for d in self.cfg.detectors}
        if detector not in names:
            raise InputError(f"no detector named {detector!r} (known: {', '.join(sorted(names))})", str(self.lc.path))
        d = names[detector]
        if not d.remediate:
            raise InputError(f"detector {detector!r} has no remediate actions", str(self.lc.path))
        with run_lock(self.lc.lock_path):
            report = RunReport(self.now, self.dry_run)
            state = State(self.lc.state_path)
            self._sources = Sources(self.lc)
            try:
                rows = [r for r in state.firing() if r["detector"] == detector]
                fp = rows[0]["fingerprint"] if rows else make_fingerprint(detector, dict(d.labels))
                labels = json.loads(rows[0]["labels"]) if rows else dict(d.labels)
                r = CheckResult(False, d.severity, "remediation on purpose", fp, {}, detector, labels)
                self._remediate(state, report, r, d)
                if not self.dry_run:
                    state.event(self.now.timestamp(), fp, detector, "remediate", d.severity,
                                f"remediation run on purpose{' by ' + who if who else ''}: {', '.join(d.remediate)}")
                    state.commit()
            finally:
                self._sources.close()
                state.close()
        return report

    def _remediate(self, state: State, report: RunReport, r: CheckResult, d: DetectorConfig) -> None:
        rem = self.cfg.remediation
        for name in d.remediate:
            body = rem.actions[name]
            action = ACTIONS[body["type"]](name, {k: v for k, v in body.items() if k != "type"})
            entry: dict[str, Any] = {"action": name, "detector": d.name, "fingerprint": r.fingerprint,
                                     "what": action.describe()}
            if not rem.enabled:
                entry.update(ok=None, skipped="remediation is disabled (remediation.enabled: false)")
                report.remediations.append(entry)
                continue
            if self.dry_run:
                entry.update(ok=None, skipped="dry run")
                report.remediations.append(entry)
                continue
            attempts, ok, output = 0, False, ""
            for attempt in range(action.retries + 1):
                attempts += 1
                if attempt:
                    self.sleep(min(10.0, 0.5 * 2 ** (attempt - 1)))
                try:
                    output = action.run(self.lc, self._sources)
                    ok = True
                    break
                except ActionError as exc:
                    output = str(exc)
            output = redact(output)
            state.remediation(self.now.timestamp(), name, d.name, r.fingerprint, ok, False, attempts, output)
            entry.update(ok=ok, attempts=attempts, output=output[:500])
            report.remediations.append(entry)
            report.counts["remediations"] += 1
            if not ok:
                report.counts["remediation_failures"] += 1

    # -- delivery ------------------------------------------------------------------------------------
    def _deliver(self, state: State, report: RunReport) -> None:
        dl = self.cfg.alerting.delivery
        blocked: set[str] = set()
        clients: dict[TLSOptions | None, httpx.Client] = {}

        def client_for(notifier: Notifier) -> httpx.Client:
            """One client per TLS setting: the default trust store, or a receiver's own tls_config."""
            tls = notifier.tls()
            if tls not in clients:
                try:
                    verify = True if tls is None else tls.verify()
                except ValueError as exc:  # a CA/certificate file that cannot be read (detect validate says so)
                    raise DeliveryError(f"tls_config: {exc}") from None
                clients[tls] = httpx.Client(timeout=dl.timeout, verify=verify)
            return clients[tls]

        def close_all() -> None:
            for c in clients.values():
                c.close()

        with contextlib.ExitStack() as stack:
            stack.callback(close_all)
            for row in state.spool_pending():
                rec = row["receiver"]
                if rec in blocked:
                    continue
                notifier = self.notifiers.get(rec)
                if notifier is None:  # receiver removed from the config: keep it, report it
                    report.deliveries.append({"receiver": rec, "fingerprint": row["fingerprint"], "ok": False,
                                              "error": "receiver no longer configured (restore it, or take its "
                                                       "notifications out with `opsctl detect spool "
                                                       "--drop-unconfigured --export FILE`)"})
                    report.counts["delivery_failures"] += 1
                    blocked.add(rec)
                    continue
                payload = json.loads(row["payload"])
                error = ""
                ok = False
                attempts = 0
                for attempt in range(dl.attempts):
                    attempts += 1
                    if attempt:
                        self.sleep(min(30.0, dl.backoff * 2 ** (attempt - 1)))
                    try:
                        notifier.send(payload, client_for(notifier))
                        ok = True
                        break
                    except DeliveryError as exc:
                        error = redact(str(exc))
                now = time.time()
                if ok:
                    state.spool_done(row, now, attempts)
                    report.counts["delivered"] += 1
                    if row["action"] == "firing" and (rec, row["fingerprint"]) in self._refreshes:
                        report.refreshed += 1
                else:
                    state.spool_failed(row, now, attempts, error)
                    report.counts["delivery_failures"] += 1
                    blocked.add(rec)  # keep order: the rest of this receiver's queue waits for the next run
                report.deliveries.append({"receiver": rec, "fingerprint": row["fingerprint"],
                                          "action": row["action"], "ok": ok, "attempts": attempts,
                                          "error": error or None})
