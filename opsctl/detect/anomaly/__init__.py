"""Anomaly detectors (one module each); see opsctl.detect.registry for the list."""
