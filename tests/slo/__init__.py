"""SLO tests. WINDOWS: alert-window catalogs for the short test periods (10m, 1d) plus the built-ins."""

from pathlib import Path

from opsctl.slo.windows import load_catalog

WINDOWS_DIR = Path(__file__).resolve().parent / "windows"
WINDOWS = load_catalog([WINDOWS_DIR])
WIN = ("--slo-period-windows-path", str(WINDOWS_DIR))  # the same catalogs on the command line

# a sloth spec: one availability SLO of 99% over http_requests_total, alert name SvcAvail
SLOTH = """\
version: "prometheus/v1"
service: "svc"
slos:
  - name: "avail"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: SvcAvail
"""
