"""runbook: runbook_url points at a runbook that exists and has the required sections."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from opsctl.rules.checks.base import ALERTS, CheckInfo, Context, Issue, RuleCheckResult, split_url
from opsctl.rules.model import Rule, RuleGroup, Severity

INFO = CheckInfo(
    "runbook", Severity.warning, "runbook_url points at a missing runbook or one lacking sections",
    "When `runbook_url` starts with `runbook_base_url` (or is a relative path), the rest of it names a file "
    "under `runbooks_dir`. That file must exist and have a heading for each of `runbook_sections` (default "
    "Diagnosis, Mitigation, Escalation); a `#fragment` must name a heading. Other URLs must be absolute "
    "http(s) URLs; they are not fetched. A policy check: a warning unless the configuration raises it.",
    kinds=ALERTS,
)

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).strip().replace(" ", "-")


def _path(url: str) -> str:
    parts = split_url(url)
    return parts.path if parts is not None else url.split("#", 1)[0].split("?", 1)[0]


def _local_path(url: str, rule: Rule, ctx: Context) -> Path | None:
    base = ctx.config.runbook_base_url
    runbooks = ctx.config.runbooks_dir
    if base and url.startswith(base) and runbooks is not None:
        return runbooks / unquote(_path(url[len(base):]))
    if "://" not in url and not url.startswith(("mailto:", "//")):
        rel = Path(unquote(_path(url)))
        for root in [Path(rule.file).parent, Path.cwd()]:
            candidate = root / rel
            if candidate.exists():
                return candidate
        return Path(rule.file).parent / rel
    return None


def check_rule(rule: Rule, group: RuleGroup, ctx: Context) -> RuleCheckResult:
    if not rule.is_alert:
        return
    url = rule.annotations.get("runbook_url", "").strip()
    if not url or "{{" in url:
        return
    loc = rule.annotation_locs.get("runbook_url", rule.loc("annotations"))
    path = _local_path(url, rule, ctx)
    if path is None:
        parts = split_url(url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            yield Issue(f"runbook_url {url!r} is not an absolute http(s) URL", loc, rule=rule)
        return
    text = ctx.file_text(path)
    if text is None:
        yield Issue(f"runbook_url {url!r}: no runbook at {path}", loc, rule=rule)
        return
    headings = [h.strip() for h in _HEADING.findall(text)]
    lowered = {h.lower() for h in headings}
    missing = [s for s in ctx.config.runbook_sections if s.lower() not in lowered]
    if missing:
        yield Issue(f"runbook {path} lacks section(s): {', '.join(missing)}", loc, rule=rule)
    parts = split_url(url)
    fragment = parts.fragment if parts is not None else ""
    if fragment and fragment.lower() not in {_slug(h) for h in headings}:
        yield Issue(f"runbook_url {url!r}: no heading #{fragment} in {path}", loc, rule=rule)
