"""Cut a large rule file into parts that can be read in separate processes, each on its own.

A plain rule file is a mapping whose `groups:` value is a block sequence; the groups are independent
subtrees. `split_groups(text, parts)` picks lines where a group item starts (`- name: ...` at the item
indentation) near equal byte offsets, and makes one YAML text per part:

    the lines before the first group (`groups:`, comments, other top-level keys), verbatim
    blank lines in place of every earlier part (so lines and columns stay those of the file)
    the part's own lines, verbatim
    the first line of the next part's first group (the "sentinel")

The sentinel makes the YAML end marks of the part's last rule the same as in the whole file, and proves the
cut: a part is only valid when its read ends with a group starting exactly on the sentinel line (a cut
inside a multi-line quoted scalar, which YAML allows to be dedented, would swallow that line), and each
part's first group starts on its first line. The caller checks that and falls back to reading the whole
file when it does not hold or any part has a YAML error, so errors are always reported as for the whole file.

Files with anchors or aliases (a group could refer to another part), several documents, flow-style
groups, or no top-level `groups:` block sequence are not split.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

_GROUPS_KEY = re.compile(r"^groups:[ \t]*(?:#.*)?$", re.M)
_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \t]|$)", re.M)
_ANCHOR_OR_ALIAS = re.compile(r"[&*][^\s,\[\]{}]")  # an anchor/alias when at the start of a node (see below)
_FIRST_ITEM = re.compile(r"^( *)- \S", re.M)


@dataclass(frozen=True)
class Part:
    text: str
    first_line: int  # 1-based line of the part's first group
    end_line: int | None  # the next part's first line (the sentinel), None for the last part
    weight: int  # bytes of the part's own lines


def split_groups(text: str, parts: int) -> list[Part] | None:
    """The file cut into at most `parts` parts, or None when it cannot (or need not) be cut."""
    if parts < 2 or _has_doc_marker(text) or _has_anchor_or_alias(text):
        return None
    keys = _groups_keys(text)
    if len(keys) != 1:
        return None
    key = keys[0]
    first = _FIRST_ITEM.search(text, key.end())
    if first is None or not _only_comments(text[key.end():first.start()]):
        return None
    indent = first.group(1)
    begin = first.start()
    # the groups sequence ends at the first line that is not blank, a comment, an item at `indent` or
    # something indented deeper; a plain-scalar or quoted continuation line further left ends it early,
    # which only means fewer places to cut
    # (patterns start with a literal newline rather than ^, so that the regex engine can skip ahead to them)
    end_match = re.compile(rf"\n(?!{indent}[- ]|[ \t]*(?:#|\r?\n|\r?$))").search(text, begin)
    end = end_match.start() + 1 if end_match else len(text)
    starts = [begin] + [m.start() + 1 for m in re.compile(rf"\n{indent}- [^\s{{\[]").finditer(text, begin, end)]
    if len(starts) < 2:
        return None
    total = len(text) - begin
    cuts = [begin]
    for k in range(1, parts):
        j = min(max(bisect_left(starts, begin + total * k / parts), 1), len(starts) - 1)
        if starts[j] > cuts[-1]:
            cuts.append(starts[j])
    if len(cuts) < 2:
        return None
    header = text[:begin]
    first_line = text.count("\n", 0, begin) + 1
    out = []
    line = first_line
    for k, cut in enumerate(cuts):
        nxt = cuts[k + 1] if k + 1 < len(cuts) else len(text)
        own = text[cut:nxt]
        if nxt < len(text):
            eol = text.find("\n", nxt)
            sentinel = text[nxt:] + "\n" if eol < 0 else text[nxt:eol + 1]
        else:
            sentinel = ""
        own_lines = own.count("\n")
        body = header + "\n" * (line - first_line) + own + sentinel
        out.append(Part(body, line, line + own_lines if nxt < len(text) else None, len(own)))
        line += own_lines
    return out


def _groups_keys(text: str) -> list[re.Match[str]]:
    """Lines `groups:` (at the start of a line, nothing else but a comment), found by a literal search."""
    positions = [0] if text.startswith("groups:") else []
    at = text.find("\ngroups:")
    while at >= 0:
        positions.append(at + 1)
        at = text.find("\ngroups:", at + 1)
    return [m for p in positions if (m := _GROUPS_KEY.match(text, p))]


def _only_comments(text: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.split("\n"))


def _has_doc_marker(text: str) -> bool:
    if "\n---" not in text and "\n..." not in text and not text.startswith(("---", "...")):
        return False
    return _DOC_MARKER.search(text) is not None


def _has_anchor_or_alias(text: str) -> bool:
    """`&name` / `*name` where a node can start (line start, after a space or a flow indicator); a `*` inside
    a plain scalar (`a*b`) is not an alias, but telling the two apart fully needs a YAML parser, so any
    doubt counts as an alias."""
    for m in _ANCHOR_OR_ALIAS.finditer(text):
        i = m.start()
        if i == 0 or text[i - 1] in " \t\r\n[{,":
            return True
    return False
