"""Errors shared by every opsctl library.

`InputError` is the one exception type for bad user input (unreadable files, invalid YAML, a config
that does not validate). It always names the file and, where known, the line and column (1-based).
The CLI turns it into a one-line message and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """A place in a file; line and column are 1-based, 0 means unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


class InputError(Exception):
    """Bad input: a file that cannot be read or does not have the expected shape."""

    def __init__(self, message: str, file: str = "<input>", line: int = 0, column: int = 0) -> None:
        from opsctl.secrets import redact  # secrets never travel in an error message

        message = redact(message)
        super().__init__(message)
        self.message = message
        self.position = Position(file, line, column)

    @property
    def file(self) -> str:
        return self.position.file

    @property
    def line(self) -> int:
        return self.position.line

    @property
    def column(self) -> int:
        return self.position.column

    def __str__(self) -> str:
        from opsctl.secrets import redact

        return redact(f"{self.position}: {self.message}")
