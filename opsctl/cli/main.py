"""The `opsctl` root command: groups, --version, --debug, and uniform error handling."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from opsctl import __version__
from opsctl.cli.output import EXIT_INPUT, FAST_EXIT, console
from opsctl.errors import InputError

app = typer.Typer(
    name="opsctl",
    help="Ops toolkit for SREs: Prometheus rules, Alertmanager, detectors, SLOs and on-call.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opsctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """opsctl: lint and test Prometheus rules, check Alertmanager routing, run detectors, SLOs, on-call."""
    if debug:
        os.environ["OPSCTL_DEBUG"] = "1"


# group name -> (module, Typer app attribute). Modules are imported only when needed, so that
# `opsctl rules validate` does not pay for pandas and friends that other groups load.
GROUPS: dict[str, tuple[str, str]] = {
    "rules": ("opsctl.cli.rules", "app"),
    "alertmanager": ("opsctl.cli.alertmanager", "app"),
    "detect": ("opsctl.cli.detect", "app"),
    "slo": ("opsctl.cli.slo", "app"),
    "oncall": ("opsctl.cli.oncall", "app"),
    "drill": ("opsctl.cli.oncall", "drill_app"),
}


def _wanted_groups(argv: list[str]) -> list[str]:
    """The groups to load for this command line: the named one, or all (help, completion)."""
    if os.environ.get("_OPSCTL_COMPLETE"):
        return list(GROUPS)
    for arg in argv:
        if arg.startswith("-"):
            continue
        return [arg] if arg in GROUPS else list(GROUPS)
    return list(GROUPS)


def _register(argv: list[str] | None = None) -> None:
    """Attach the command groups. Each lives in its own module under opsctl.cli."""
    import importlib

    for name in _wanted_groups(sys.argv[1:] if argv is None else argv):
        module, attr = GROUPS[name]
        group_app = getattr(importlib.import_module(module), attr)
        app.add_typer(group_app, name=name)


_register()


def run() -> None:
    """Console-script entry point: maps input errors to exit 2 and hides tracebacks unless --debug."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("OPSCTL_DEBUG") == "1"
    FAST_EXIT["standalone"] = True
    try:
        app(standalone_mode=True)
    except InputError as exc:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"error: {exc}", markup=False)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as exc:
        if FAST_EXIT["ok"] and (exc.code is None or isinstance(exc.code, int)):
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except OSError:  # a closed pipe: exit normally and let Python report it
                raise exc from None
            os._exit(exc.code or 0)
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            console(stderr=True).print(
                f"error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", markup=False
            )
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":  # pragma: no cover
    run()
