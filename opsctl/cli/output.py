"""Shared output helpers for every command: format option, consoles, JSON emission, exit codes."""

from __future__ import annotations

import os
import sys
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # rich.console is imported on first use: `opsctl --version` never needs it
    from rich.console import Console

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2

# Set by commands whose process holds nothing that needs tearing down at exit (no open state, locks or
# spools): the entry point then leaves with os._exit after flushing output instead of freeing every object
# one by one (a quarter of a second after linting 10,000 rules). Only the console-script entry point acts
# on it, so in-process callers (tests, CliRunner) are unaffected.
FAST_EXIT = {"ok": False, "standalone": False}


def allow_fast_exit() -> None:
    FAST_EXIT["ok"] = True


def standalone() -> bool:
    """True in the `opsctl` process itself (console script or `python -m opsctl`), not when the Typer app is
    called in-process (tests): process-wide shortcuts (no cyclic GC, os._exit) are only for the former."""
    return FAST_EXIT["standalone"]

JSON_SCHEMA_VERSION = 1


class Format(StrEnum):
    text = "text"
    json = "json"


FORMAT_OPTION = typer.Option(Format.text, "--format", "-f", help="Output format.", case_sensitive=False)


def _no_color() -> bool:
    return "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""


def plain_stdout() -> bool:
    """True when console() would write to stdout without colour and without wrapping (not a terminal, no
    FORCE_COLOR): text may then be written to sys.stdout as is, without loading rich."""
    force = os.environ.get("FORCE_COLOR") not in (None, "", "0")
    return not sys.stdout.isatty() and (not force or _no_color())


def console(stderr: bool = False) -> Console:
    """A rich console that honours NO_COLOR and plain output when not on a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    force = os.environ.get("FORCE_COLOR") not in (None, "", "0")
    return Console(
        file=stream,
        no_color=_no_color(),
        force_terminal=True if force and not _no_color() else None,
        color_system="auto" if (is_tty or force) and not _no_color() else None,
        highlight=False,
        soft_wrap=not is_tty,
        width=None if is_tty else 200,
    )


def emit_json(payload: Any) -> None:
    """Write a JSON document to stdout (sorted keys are not used: schemas define the order)."""
    import json

    sys.stdout.write(json.dumps(payload, indent=2, default=_default, ensure_ascii=False))
    sys.stdout.write("\n")


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, Enum):
        return obj.value
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def fail_input(message: str) -> typer.Exit:
    """Print a one-line input error and return the Exit(2) to raise."""
    console(stderr=True).print(f"error: {message}", markup=False)
    return typer.Exit(EXIT_INPUT)
