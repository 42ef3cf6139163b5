"""The Typer command-line layer. Only this package imports typer and rich."""
