"""Go regexp for the template functions (`match`, `reReplaceAll`, `regexReplaceAll`): opsctl.gosem.regexp
(google-re2 with Go's semantics and error texts) under the names the template packages use."""

from __future__ import annotations

from opsctl.gosem.regexp import RegexpError
from opsctl.gosem.regexp import compile as go_compile
from opsctl.gosem.regexp import match_string as go_match_string
from opsctl.gosem.regexp import replace_all_string as go_replace_all_string

__all__ = ["RegexpError", "go_compile", "go_match_string", "go_replace_all_string"]
