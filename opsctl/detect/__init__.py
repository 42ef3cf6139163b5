"""opsctl detect: one-shot anomaly detectors, health checks and alerting for cron."""
