"""The `opsctl` root command: groups, --version, --debug, and uniform error handling."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup, TyperOption

from opsctl import __version__
from opsctl.cli import typer_fast
from opsctl.cli.output import EXIT_INPUT, FAST_EXIT, console
from opsctl.errors import InputError
from opsctl.secrets import redact

# group name -> (module, Typer app attribute, one-line summary). A group's module is imported only when
# that group is called (or completed), so `opsctl --version`, `opsctl --help` and `opsctl oncall who` do
# not pay for pandas, pydantic and the other groups; the summary is what `opsctl --help` lists.
GROUPS: dict[str, tuple[str, str, str]] = {
    "rules": ("opsctl.cli.rules", "app",
              "Validate, unit-test and backtest Prometheus alerting and recording rules."),
    "alertmanager": ("opsctl.cli.alertmanager", "app",
                     "Alertmanager: render and check configs, test routes, inhibition/muting, templates."),
    "detect": ("opsctl.cli.detect", "app",
               "Run detectors and health checks, alert once, remember, never lose an alert (cron)."),
    "slo": ("opsctl.cli.slo", "app",
            "SLOs from sloth / OpenSLO specs: validate, generate Prometheus rules, report compliance."),
    "oncall": ("opsctl.cli.oncall", "app",
               "On-call schedules: who is on call, rendered shifts, gaps, load; iCal and PagerDuty import/export."),
    "drill": ("opsctl.cli.oncall", "drill_app",
              "Replay incidents against schedules and an escalation policy; post-incident documents."),
    "doctor": ("opsctl.cli.doctor", "app",
               "Check connectivity, version, readiness and auth of Prometheus, Alertmanager and Grafana."),
}


def strip_debug(args: list[str]) -> tuple[list[str], bool]:
    """`args` without any `--debug` (anywhere before a `--`), and whether one was there."""
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != "--debug"] + args[end:]
    return kept, len(kept) != len(args)


class _Root(TyperGroup):
    """The root group: loads command groups lazily and takes `--debug` anywhere on the command line."""

    _listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args, debug = strip_debug(list(args))
        if debug:
            os.environ["OPSCTL_DEBUG"] = "1"
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(GROUPS) + [n for n in self.commands if n not in GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in GROUPS:
            return self.commands.get(cmd_name)
        module, attr, summary = GROUPS[cmd_name]
        if self._listing:  # `opsctl --help`: the summary is enough, import nothing
            return TyperGroup(name=cmd_name, help=summary)
        import importlib

        sub = getattr(importlib.import_module(module), attr)
        sub.rich_markup_mode = self.rich_markup_mode  # plain help and usage errors, as for the root
        group = lazy_group(sub)
        group.name = cmd_name
        self.commands[cmd_name] = group
        return group

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class _LazyGroup(TyperGroup):
    """A command group whose commands are built from their functions when first asked for (Typer builds
    every command of a group - signatures, type hints, options - to run any one of them)."""

    _pending: dict[str, Any]
    _markup: Any
    _short: bool

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self._pending, *(n for n in self.commands if n not in self._pending)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        info = self._pending.get(cmd_name)
        if info is not None and cmd_name not in self.commands:
            self.commands[cmd_name] = typer.main.get_command_from_info(
                info, pretty_exceptions_short=self._short, rich_markup_mode=self._markup)
        return self.commands.get(cmd_name)


def lazy_group(sub: typer.Typer) -> TyperGroup:
    """`typer.main.get_group(sub)` with the group's own commands (not its sub-groups) built on first use;
    listing them (`opsctl rules --help`, completion) builds them all, as before."""
    registered = sub.registered_commands
    sub.registered_commands = []
    try:
        group = typer.main.get_group(sub)
    finally:
        sub.registered_commands = registered
    if type(group) is not TyperGroup:  # a group class of its own: as Typer builds it
        return typer.main.get_group(sub)
    group.__class__ = _LazyGroup
    assert isinstance(group, _LazyGroup)
    group._pending = {info.name or typer.main.get_command_name(info.callback.__name__): info  # type: ignore[union-attr]
                      for info in registered}
    group._markup = sub.rich_markup_mode
    group._short = sub.pretty_exceptions_short
    return group


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """Help shows a value type for options that take a value, none for plain on/off flags (`--debug`)."""
    if self.is_flag and not self.count:
        return None
    return None if _display_type_rich is None else _display_type_rich(self, ctx)


_display_type_rich: Callable[[TyperOption, Any], str | None] | None = getattr(TyperOption, "display_type_rich", None)
if _display_type_rich is not None:  # Typer 0.29; older ones show the type their own way
    TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _one_line_usage_error(self: UsageError, file: Any = None) -> None:
    """A usage error (unknown option, bad value, missing argument) is one line, like every input error."""
    where = self.ctx.command_path if self.ctx is not None else "opsctl"
    typer.echo(f"error: {where}: {self.format_message()} (see {where} -h)", file=file, err=True)


UsageError.show = _one_line_usage_error  # type: ignore[method-assign]
typer_fast.install()  # plain option values without importing pydantic (see opsctl/cli/typer_fast.py)

app = typer.Typer(
    cls=_Root,
    name="opsctl",
    # Plain (click) help and usage errors: Typer's rich help imports rich.markdown, markdown-it and pygments,
    # which doubled the time of `opsctl --help`; plain text also reads the same in a pipe or a log.
    rich_markup_mode=None,
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


_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-\d+$")  # the atomic writers' temporary file next to the target


def _shown_path(name: object) -> str:
    text = os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else str(name)
    head, base = os.path.split(text)
    m = _TMP_NAME.match(base)
    return os.path.join(head, m.group("name")) if m else text


def _culprit(exc: BaseException) -> str | None:
    """The file being read when `exc` was raised: the innermost frame holding a path to an existing file."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames[-200:]):
        for name, value in frame.f_locals.items():
            if name.startswith("__") or not isinstance(value, (str, os.PathLike)):
                continue
            try:
                text = os.fspath(value)
                if 0 < len(text) < 4096 and "\n" not in text and os.path.isfile(text):
                    return str(text)
            except (OSError, ValueError, TypeError):
                continue
    return None


def describe_io_error(exc: BaseException) -> str:
    """One line for a file-system, encoding or nesting error: `FILE: what is wrong`."""
    if isinstance(exc, OSError):
        # os.replace(temporary, target) fails with both names: the target is the one the user gave
        name = exc.filename2 if exc.filename2 is not None else exc.filename
        reason = exc.strerror or str(exc)
        if name is None:  # not about a file (a refused connection...): say what it is
            return f"{type(exc).__name__}: {reason}"
        shown = _shown_path(name)
        if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError, FileNotFoundError)):
            return f"{shown}: {reason[:1].lower() + reason[1:]}"
        return f"{shown}: {reason}"
    where = _culprit(exc) or "<input>"
    if isinstance(exc, UnicodeDecodeError):
        return f"{where}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
    if isinstance(exc, RecursionError):
        return f"{where}: nested too deeply (JSON or YAML more than a few hundred levels deep)"
    return f"{where}: {type(exc).__name__}: {exc}"


def run() -> None:
    """Console-script entry point: maps input errors to exit 2 and hides tracebacks unless --debug."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("OPSCTL_DEBUG") == "1"
    FAST_EXIT["standalone"] = True
    try:
        app(standalone_mode=True, prog_name="opsctl")  # also under `python -m opsctl`
    except InputError as exc:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"error: {redact(str(exc))}", markup=False)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `opsctl ... | head`: the reader left; say nothing, like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    except (OSError, UnicodeError, RecursionError) as exc:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"error: {redact(describe_io_error(exc))}", markup=False)
        sys.exit(EXIT_INPUT)
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
                f"error: {type(exc).__name__}: {redact(str(exc))} (run with --debug for a traceback)", markup=False
            )
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":  # pragma: no cover
    run()
