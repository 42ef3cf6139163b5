"""Talking to live systems: a shared HTTP layer, the Alertmanager v2 API, Grafana, connectivity checks."""
