#!/usr/bin/env bash
# `make demo`: run the main jobs of every command group on the example data shipped in examples/.
# Commands that report findings on purpose (exit 1) are marked "expected: exit 1" and do not stop the demo;
# anything else that fails does.
set -euo pipefail
cd "$(dirname "$0")/.."
OPSCTL=${1:-.venv/bin/opsctl}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m'; PLAIN=$'\033[0m'; else BOLD=""; PLAIN=""; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
run() { step "opsctl $*"; "$OPSCTL" "$@"; }
run_findings() {  # a command whose example data has findings: exit 1 is the expected answer
    step "opsctl $* (expected: exit 1)"
    set +e; "$OPSCTL" "$@"; rc=$?; set -e
    if [ "$rc" -ne 1 ]; then echo "unexpected exit code $rc" >&2; exit 1; fi
}

# rules: lint, coverage, unit tests, backtest
run rules validate rulesets/
run rules coverage rulesets/
run rules test rulesets/jobs/tests/jobs.test.yml
run rules promqltest examples/promql/
run rules backtest examples/backtest/rules.yml --data examples/backtest/errors.csv \
    --compare examples/backtest/rules-v2.yml

# alertmanager: render the standard policy, show and test routing, inhibition, muting, template preview
step "opsctl alertmanager render (secrets from the environment)"
AM_SMTP_PASSWORD=demo AM_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/demo \
    "$OPSCTL" alertmanager render examples/alertmanager/alertmanager.yml.j2 \
    --values examples/alertmanager/values.yaml -o "$OUT/alertmanager.yml"
run alertmanager routes show "$OUT/alertmanager.yml"
run alertmanager routes test "$OUT/alertmanager.yml" severity=critical alertname=HighLatency instance=web-1 \
    --verify-receivers pager,chat,email
run alertmanager inhibit "$OUT/alertmanager.yml" --alerts examples/alertmanager/alerts.json
run alertmanager mute "$OUT/alertmanager.yml" --alerts examples/alertmanager/alerts.json --at 2024-05-05T00:30:00Z
run alertmanager template render --config "$OUT/alertmanager.yml" --receiver chat \
    --alerts examples/alertmanager/alerts.json

# detect: one cron run over exported files (the example data has a latency spike and a level shift)
run detect validate --config examples/detect/detectors.yaml
run_findings detect run --config examples/detect/detectors.yaml --state "$OUT/state.db"

# slo: validate, generate rules, report compliance from an export
run slo validate examples/slo/openslo-v1.yml --slo-period-windows-path examples/slo/windows
run slo generate examples/slo/checkout.yml -o "$OUT/slo-rules.yml"
run rules validate "$OUT/slo-rules.yml"
set +e; "$OPSCTL" slo report examples/slo/checkout.yml --data examples/slo/checkout.csv; set -e
set +e; "$OPSCTL" slo report examples/slo/openslo-v1.yml --data examples/slo/checkout.csv \
    --slo-period-windows-path examples/slo/windows -o "$OUT/slo-report.html" --format json >/dev/null; set -e
test -s "$OUT/slo-report.html" && echo "wrote an HTML report"
set +e; "$OPSCTL" slo report examples/slo/openslo-v1.yml --data examples/slo/checkout.csv -o "$OUT/slo.png" \
    --slo-period-windows-path examples/slo/windows --format json >/dev/null; set -e
test -s "$OUT/slo.png" && echo "wrote a PNG burn-down chart"

# on-call: who is on call, shifts, gaps, load, a drill and its post-mortem
run oncall who --schedule examples/oncall/primary.yaml --schedule examples/oncall/secondary.yaml --policy examples/oncall/policy.yaml \
    --at 2026-03-25T20:00:00
run oncall show --schedule examples/oncall/primary.yaml --from 2026-03-28T20:00 --to 2026-03-30T10:00
run_findings oncall gaps --schedule examples/oncall/primary.yaml --schedule examples/oncall/secondary.yaml \
    --policy examples/oncall/policy.yaml --from 2026-03-23 --to 2026-03-25
run oncall load --schedule examples/oncall/primary.yaml --from 2026-03-01 --to 2026-04-01
run oncall import-ical examples/oncall/recurring.ics --time-zone Europe/Berlin --from 2026-03-16 --to 2026-04-27 \
    -o "$OUT/recurring.yaml"
run oncall show --schedule "$OUT/recurring.yaml" --from 2026-03-23 --to 2026-04-06
set +e
"$OPSCTL" drill run --schedule examples/oncall/primary.yaml --schedule examples/oncall/secondary.yaml \
    --policy examples/oncall/policy.yaml --scenario examples/oncall/scenario.yaml --seed 7 --no-timeline \
    -o "$OUT/drill.json"
set -e
run drill postmortem INC-1 --drill "$OUT/drill.json"
step "demo finished"
