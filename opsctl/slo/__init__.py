"""SLOs: sloth / OpenSLO specs, sloth-compatible Prometheus rules, compliance reports from data."""
