"""TemplateError: every parse or execution failure of a Go template."""

from __future__ import annotations


class TemplateError(Exception):
    """A parse or execution error. str() is Go's exact error text (e.g.
    ``template: name:3: function "foo" not defined``); ``message`` is the bare message,
    ``name`` the template (file) name, ``line``/``column`` 1-based positions in the template text
    (column 0 when unknown)."""

    def __init__(self, text: str, *, name: str = "", line: int = 0, column: int = 0, message: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.name = name
        self.line = line
        self.column = column
        self.message = message or text

    def __str__(self) -> str:
        return self.text
