"""Prometheus rule files: loading, validation (promtool parity), best-practice checks, coverage."""
