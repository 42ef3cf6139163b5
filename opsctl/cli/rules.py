"""`opsctl rules`: validate, test and backtest Prometheus rule files."""

from __future__ import annotations

import typer

app = typer.Typer(help="Validate, unit-test and backtest Prometheus alerting and recording rules.",
                  no_args_is_help=True)
