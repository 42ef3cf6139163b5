"""Prometheus HTTP API client shared by opsctl detect and opsctl slo."""
