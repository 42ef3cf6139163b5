"""Notification template texts rendered by both `amtool template render` and opsctl (Alertmanager oracle)."""

from typing import Any

DEFAULT_TEMPLATE_NAMES = [
    "__subject", "__alertmanagerURL", "__text_alert_list",
    "slack.default.title", "slack.default.fallback", "slack.default.titlelink", "slack.default.username",
    "pagerduty.default.description", "pagerduty.default.client", "pagerduty.default.clientURL",
    "pagerduty.default.instances", "opsgenie.default.message", "opsgenie.default.description",
    "opsgenie.default.source", "wechat.default.message", "victorops.default.state_message",
    "victorops.default.entity_display_name", "victorops.default.monitoring_tool", "pushover.default.title",
    "pushover.default.message", "pushover.default.url", "sns.default.subject", "sns.default.message",
    "telegram.default.message", "discord.default.title", "discord.default.message", "webex.default.message",
]

AM_TEXTS = [
    "{{ template \"" + name + "\" . }}" for name in DEFAULT_TEMPLATE_NAMES
] + [
    "{{ .Status | toUpper }} {{ .Receiver | toLower }} {{ title \"hELLO wORLD foo-bar o'neil x.y 1st\" }}",
    "{{ .GroupLabels.SortedPairs }} {{ .CommonLabels.Names }} {{ .CommonLabels.Values | join \", \" }}",
    "{{ range .Alerts }}{{ .Status }} {{ .Labels.instance }} {{ .StartsAt }} {{ .EndsAt }}"
    " {{ .Fingerprint }}\n{{ end }}",
    "{{ range .Alerts.Firing }}{{ .Labels.alertname }}{{ end }}|{{ len .Alerts.Resolved }}",
    "{{ .CommonLabels.Remove (stringSlice \"job\" \"alertname\") }}",
    "{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join \" \" }}{{ end }}",
    "{{ .Labels }}",
    "{{ .CommonLabels.missing }}[{{ index .CommonLabels \"missing\" }}]",
    "{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Annotations.SortedPairs.Values }};{{ end }}",
    "{{ if match \"^High\" .CommonLabels.alertname }}yes{{ end }} {{ reReplaceAll \"(a)(p)\" \"$2$1\" \"api\" }}",
    "{{ safeHtml \"<b>\" }} {{ html \"<b>\" }} {{ urlquery .ExternalURL }}",
    "{{ .StartsAt }}",
    "{{ range .Alerts }}{{ .StartsAt.Format \"2006-01-02 15:04:05 MST\" }} {{ .StartsAt.Unix }}|{{ end }}",
    "{{ printf \"%v|%s|%q|%d\" .GroupLabels .Status .Receiver (len .Alerts) }}",
    "{{ .Alerts.Firing.Firing }}",
    "{{ join \",\" .CommonLabels }}",
    "{{ template \"nope\" . }}",
    "{{ .CommonLabels.SortedPairs.Names | join \"+\" }} {{ stringSlice }}",
    "{{ define \"mine\" }}<{{ .Receiver }}>{{ end }}{{ template \"mine\" . }}",
    "{{ .Alerts.Firing | len }} {{ (index .Alerts 0).Labels.instance }} {{ index .Alerts 5 }}",
    "{{ toUpper 3 }}",
    "{{ .Receiver.Foo }}",
]

AM_DATA: dict[str, Any] = {
    "receiver": "team-x", "status": "firing", "externalURL": "http://am.example.com:9093",
    "groupLabels": {"alertname": "HighLatency", "job": "api"},
    "commonLabels": {"alertname": "HighLatency", "job": "api", "severity": "page"},
    "commonAnnotations": {"summary": "Latency high", "runbook": "http://rb/x"},
    "alerts": [
        {"status": "firing", "labels": {"alertname": "HighLatency", "job": "api", "severity": "page",
                                        "instance": "a:1"},
         "annotations": {"summary": "Latency high", "description": "p99 > 1s"},
         "startsAt": "2024-01-02T03:04:05.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prom/graph?g0.expr=x", "fingerprint": "abc123"},
        {"status": "resolved", "labels": {"alertname": "HighLatency", "job": "api", "severity": "page",
                                          "instance": "b:2"},
         "annotations": {"summary": "Latency high"}, "startsAt": "2024-01-02T01:00:00+02:00",
         "endsAt": "2024-01-02T02:00:00.5Z", "generatorURL": "", "fingerprint": "def456"},
    ],
}
