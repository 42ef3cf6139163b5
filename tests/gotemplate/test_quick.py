"""opsctl.gotemplate.quick: the template pre-check `rules validate` uses without importing the parser."""

from __future__ import annotations

import subprocess
import sys

from opsctl.gotemplate.prometheus import _plain_funcs, check_rule_template
from opsctl.gotemplate.quick import PLAIN_FUNCS, plainly_valid


def test_plain_functions_are_those_of_the_function_tables() -> None:
    assert _plain_funcs() == PLAIN_FUNCS


def test_plainly_valid_templates_parse_and_others_go_to_the_parser() -> None:
    for text in ("{{ $labels.job }} is down", "{{ $value | humanizePercentage }}", "no action", "{ x }",
                 '{{ printf "%.2f" $value }}', "{{ .Labels.instance }}"):
        assert plainly_valid(text), text
        assert check_rule_template(text, "A") is None
    for text in ("{{ $labels.job", "{{ if $value }}x{{ end }}", "{{ nope $value }}", "{{- $value }}"):
        assert not plainly_valid(text), text


def test_importing_quick_loads_no_parser() -> None:
    code = "import sys, opsctl.gotemplate.quick; print(sorted(m for m in sys.modules if m.startswith('opsctl.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "opsctl.gotemplate.parser" not in out and "opsctl.gotemplate.quick" in out
