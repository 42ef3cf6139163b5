"""Package data: Alertmanager v0.25.0 default.tmpl (Apache-2.0)."""
