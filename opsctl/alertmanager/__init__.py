"""Alertmanager tooling: config model and validation, routing, inhibition/muting, template preview.

Semantics follow Alertmanager 0.25 (config/config.go, config/notifiers.go, dispatch/route.go,
inhibit/inhibit.go, timeinterval/timeinterval.go, pkg/labels/parse.go). No module here prints or imports
the CLI; see `opsctl.cli.alertmanager` for the commands.
"""
