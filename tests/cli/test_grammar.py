"""One command grammar: each short flag has one meaning, and only the short flags of docs/cli.md exist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.main import get_command

from opsctl.cli.main import GROUPS, app, strip_debug

ROOT = Path(__file__).resolve().parents[2]

# The table of docs/cli.md: short flag -> the long option it stands for, everywhere.
SHORT_FLAGS = {"-h": "--help", "-f": "--format", "-o": "--output", "-c": "--config", "-q": "--quiet",
               "-v": "--verbose", "-j": "--jobs"}


def commands() -> Iterator[tuple[str, Any]]:
    root = get_command(app)
    ctx = typer.Context(root)

    def walk(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, cmd
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    yield from walk(sub, f"{path} {name}")

    yield from walk(root, "opsctl")


def options() -> Iterator[tuple[str, Any]]:
    for path, cmd in commands():
        for p in cmd.params:
            if p.param_type_name == "option":
                yield path, p


def test_walk_sees_every_group() -> None:
    paths = {path for path, _ in commands()}
    for group in GROUPS:
        assert f"opsctl {group}" in paths
    assert len(paths) > 30


def test_each_short_flag_has_one_meaning_from_the_table() -> None:
    problems = []
    for path, p in options():
        names = p.opts + p.secondary_opts
        longs = [n for n in names if n.startswith("--")]
        for short in (n for n in names if not n.startswith("--")):
            if short not in SHORT_FLAGS:
                problems.append(f"{path}: {short} ({'/'.join(longs)}) is not in the short-flag table")
            elif SHORT_FLAGS[short] not in longs:
                problems.append(f"{path}: {short} means {'/'.join(longs)}, elsewhere {SHORT_FLAGS[short]}")
    assert not problems, "\n".join(problems)


def test_long_option_is_a_flag_everywhere_or_nowhere() -> None:
    kinds: dict[str, dict[bool, str]] = {}
    for path, p in options():
        for name in p.opts:
            kinds.setdefault(name, {})[bool(p.is_flag)] = path
    mixed = {n: k for n, k in kinds.items() if len(k) > 1}
    assert not mixed, mixed


def test_docs_table_lists_the_short_flags() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    for short, long in SHORT_FLAGS.items():
        assert f"`{short}`" in text and f"`{long}`" in text


def test_range_options_are_from_and_to() -> None:
    """A range is --from/--to (--start/--end only as their aliases, as amtool spells a silence's); an instant
    is --at."""
    banned = {"--start", "--end", "--until", "--begin", "--time", "--now"}
    found = [f"{path}: {name}" for path, p in options() if not p.hidden and not {"--from", "--to"} & set(p.opts)
             for name in p.opts if name in banned]
    assert not found, found


def test_strip_debug() -> None:
    assert strip_debug(["rules", "validate", "--debug", "x.yml"]) == (["rules", "validate", "x.yml"], True)
    assert strip_debug(["--debug", "rules"]) == (["rules"], True)
    assert strip_debug(["rules", "--", "--debug"]) == (["rules", "--", "--debug"], False)
    assert strip_debug(["rules"]) == (["rules"], False)


def test_debug_after_the_subcommand_is_accepted(tmp_path: Path, run_cli: Any) -> None:
    rules = tmp_path / "r.yml"
    rules.write_text("groups: []\n")
    args = ["rules", "backtest", str(rules), "--data", str(tmp_path / "d.csv"), "--from", "yesterday"]
    before = run_cli("--debug", *args)
    after = run_cli(*args, "--debug")
    assert before.returncode == after.returncode == 2
    assert "No such option" not in after.stderr
    assert "Traceback" in after.stderr and "Traceback" in before.stderr
    plain = run_cli(*args)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip().splitlines() == ["error: <command line>: --from 'yesterday': not a time; expected "
                                                 "RFC 3339 (2026-01-31T00:00:00Z), a date (2026-01-31, UTC), Unix "
                                                 "seconds, now, now-1h or -7d"]


def test_help_shows_no_bool_type_on_plain_flags(run_cli: Any) -> None:
    for args in (["--help"], ["rules", "validate", "--help"], ["oncall", "gaps", "--help"]):
        out = run_cli(*args)
        assert out.returncode == 0
        assert "<bool>" not in out.stdout, args
