"""Structural problems found while reading a file: what `promtool check rules` rejects.

These ids are produced by `opsctl.rules.loader`; this module gives them their registry entries.
"""

from __future__ import annotations

from opsctl.rules.checks.base import CheckInfo
from opsctl.rules.model import Severity

INFOS = [
    CheckInfo("yaml", Severity.error, "File cannot be read or is not valid YAML",
              "The file could not be read, is not UTF-8, is too large, contains an alias bomb or is not valid "
              "YAML. Nothing else in the file can be checked. The command exits 2.", "structural"),
    CheckInfo("schema", Severity.error, "Unknown field, missing field or wrong type",
              "Prometheus decodes rule files strictly: every field must be known (groups: name, interval, "
              "limit, rules; rules: record, alert, expr, for, keep_firing_for, labels, annotations; "
              "query_offset needs Prometheus 2.53, group labels 3.0) and of the right type.", "structural"),
    CheckInfo("promql-syntax", Severity.error, "Expression missing or not valid PromQL",
              "The `expr` must be set and parse as PromQL for the target Prometheus version, including "
              "function names that version knows and selectors with at least one non-empty matcher.",
              "structural"),
    CheckInfo("rule-kind", Severity.error, "Rule must be exactly one of alert or record",
              "A rule sets exactly one of `alert` and `record`. Recording rules cannot have `for`, "
              "`keep_firing_for` or `annotations`.", "structural"),
    CheckInfo("duration", Severity.error, "Invalid duration",
              "`interval`, `for`, `keep_firing_for` and `query_offset` take Prometheus durations such as "
              "`30s`, `5m`, `1h30m`, `1d`; a bare number like `5` is rejected.", "structural"),
    CheckInfo("metric-name", Severity.error, "Invalid recording rule name",
              "A recording rule's name is a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.", "structural"),
    CheckInfo("label-name", Severity.error, "Invalid label or annotation name",
              "Label and annotation names match `[a-zA-Z_][a-zA-Z0-9_]*`; `__name__` cannot be set as a "
              "rule label; label values must be valid UTF-8.", "structural"),
    CheckInfo("group-name", Severity.error, "Group name empty or repeated in the file",
              "Every group needs a name, unique within its file.", "structural"),
    CheckInfo("template-syntax", Severity.error, "Label or annotation template does not parse",
              "Alert labels and annotations are Go templates, expanded when the alert fires. They are parsed "
              "as Prometheus does (with $labels, $value, $externalLabels, $externalURL defined): unknown "
              "functions, unclosed actions and undefined variables are errors.", "structural"),
    CheckInfo("multi-document", Severity.warning, "More than one YAML document",
              "Prometheus reads only the first YAML document of a rule file; the others are silently "
              "ignored. (Kubernetes PrometheusRule manifests may hold several documents.)", "structural"),
    CheckInfo("disable-comment", Severity.warning, "Mistyped opsctl comment or unknown check id in it",
              "A comment that names opsctl but is not `# opsctl: disable=ID[,ID]` or "
              "`# opsctl: disable-file=ID[,ID]` (e.g. `# opsctl disable=x`, `# opsctl: disabled=x`), or that "
              "names a check id opsctl does not have, disables nothing: the finding it was meant to silence "
              "still fails the run, or a typo hides that nothing is silenced (pint's check of mistyped "
              "`# pint disable` comments).", "structural"),
]
