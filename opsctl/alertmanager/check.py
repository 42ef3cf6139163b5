"""`check`: validate Alertmanager config files, collecting every error with its position."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.alertmanager.config import Config, ConfigErrors, Version, load_config, loads_config
from opsctl.errors import InputError
from opsctl.yamlutil import read_text


@dataclass
class CheckResult:
    file: str
    errors: list[InputError] = field(default_factory=list)
    config: Config | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        c = self.config
        if c is None:
            return {}
        return {"receivers": len(c.receivers), "routes": c.count_routes(), "inhibit_rules": len(c.inhibit_rules),
                "time_intervals": len(c.time_intervals), "templates": len(c.template_files)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "valid": self.ok,
            "errors": [{"file": e.file, "line": e.line, "column": e.column, "message": e.message}
                       for e in self.errors],
            "summary": self.summary(),
        }


def check_file(path: str | os.PathLike[str], check_templates: bool = True,
               version: Version | None = None) -> CheckResult:
    """Every problem of the config (YAML syntax included) becomes an error entry; only a file that cannot be
    read at all raises InputError. `version`: the target Alertmanager version (default: the newest)."""
    res = CheckResult(str(path))
    text = read_text(path)
    try:
        res.config = loads_config(text, str(path), base_dir=Path(path).parent, check_templates=check_templates,
                                  version=version)
    except ConfigErrors as exc:
        res.errors = sorted(exc.errors, key=lambda e: (e.line, e.column))
    except InputError as exc:
        res.errors = [exc]
    return res


def check_text(text: str, filename: str = "<input>", base_dir: Path | None = None,
               version: Version | None = None) -> CheckResult:
    """Check config text; relative template globs resolve against `base_dir` (default: current directory)."""
    res = CheckResult(filename)
    try:
        res.config = loads_config(text, filename, base_dir=base_dir, version=version)
    except ConfigErrors as exc:
        res.errors = sorted(exc.errors, key=lambda e: (e.line, e.column))
    except InputError as exc:
        res.errors = [exc]
    return res


def load_valid(path: str | os.PathLike[str], check_templates: bool = False,
               version: Version | None = None) -> Config:
    """Load a config for routing/inhibition commands: the first error becomes an InputError (exit 2)."""
    try:
        return load_config(path, check_templates=check_templates, version=version)
    except ConfigErrors as exc:
        errs = sorted(exc.errors, key=lambda e: (e.line, e.column))
        first = errs[0]
        more = f" (and {len(errs) - 1} more; run `opsctl alertmanager check`)" if len(errs) > 1 else ""
        raise InputError(first.message + more, first.file, first.line, first.column) from None
