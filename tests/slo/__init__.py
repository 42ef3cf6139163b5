"""SLO tests. WINDOWS: alert-window catalogs for the short test periods (10m, 1d) plus the built-ins."""

from pathlib import Path

from opsctl.slo.windows import load_catalog

WINDOWS_DIR = Path(__file__).resolve().parent / "windows"
WINDOWS = load_catalog([WINDOWS_DIR])
WIN = ("--slo-period-windows-path", str(WINDOWS_DIR))  # the same catalogs on the command line
