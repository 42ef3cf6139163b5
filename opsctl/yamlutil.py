"""Safe YAML loading that keeps positions, with limits against hostile input.

`load_documents()` reads every document of a (possibly multi-document) YAML stream with PyYAML's
SafeLoader and returns plain Python values where every mapping is a `PosDict` and every sequence a
`PosList`; both remember the 1-based line/column of themselves, of each key and of each value, so that
later validation errors can point at `file:line:column`.

Limits: file size (default 32 MiB), number of alias expansions (against "billion laughs" bombs),
nesting depth and total node count. Any violation, and any YAML error, raises `InputError`.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsctl.errors import InputError

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"

try:  # the C parser is much faster when libyaml is present
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_IMPLICIT = {first: tuple(resolvers) for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_WILDCARD = _IMPLICIT.pop(None, ())


def _plain_tag(value: str) -> str:
    """The tag of a plain (unquoted) scalar, by the safe schema's implicit resolvers."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()) + _WILDCARD:
        if regexp.match(value):
            return tag
    return _STR_TAG


class _BaseLoader(_SafeLoader):
    """SafeLoader whose tag resolution is a table lookup: the composer calls it for every scalar.

    Same answers as PyYAML's resolver for the safe schema (no path resolvers are registered).
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            return _plain_tag(value) if implicit[0] else _STR_TAG
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_aliases: int = 10_000
    max_depth: int = 200
    max_nodes: int = 5_000_000


DEFAULT_LIMITS = Limits()

Loc = tuple[int, int]


class PosDict(dict[str, Any]):
    """A dict from YAML that knows where it and its keys/values stand (1-based line, column)."""

    # (slots: no attribute dict for each of the many mappings a rule file holds, made and freed with them)
    __slots__ = ("end", "info", "loc")
    loc: Loc
    end: Loc
    # key -> (key position, value position, the value's source text when it is a scalar, else None)
    info: dict[str, tuple[Loc, Loc, str | None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info = {}
        self.loc = self.end = (0, 0)

    def text(self, key: str) -> str | None:
        """The source text of a scalar value as a Go YAML decoder would put it in a string field.

        `yes`, `1.50` or `5` stay as written (PyYAML would make them bool/float/int); null is "".
        Returns None when the key is missing or its value is not a scalar.
        """
        info = self.info.get(key)
        if info is None or info[2] is None:
            return None
        return "" if self[key] is None else info[2]

    def raw(self, key: str) -> str | None:
        """The scalar's source text even when YAML reads it as null (`null`, `~`), as a Go yaml.Node's Value
        holds it (Prometheus keeps a rule's `expr` as a yaml.Node); None when missing or not a scalar."""
        info = self.info.get(key)
        return None if info is None else info[2]

    def key_loc(self, key: str) -> Loc:
        info = self.info.get(key)
        return info[0] if info is not None else self.loc

    def value_loc(self, key: str) -> Loc:
        info = self.info.get(key)
        return info[1] if info is not None else self.loc


class PosList(list[Any]):
    """A list from YAML that knows where it and each item stand."""

    __slots__ = ("item_locs", "loc")
    loc: Loc
    item_locs: list[Loc]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_locs = []
        self.loc = (0, 0)

    def item_loc(self, index: int) -> Loc:
        if 0 <= index < len(self.item_locs):
            return self.item_locs[index]
        return self.loc


def go_yaml_tag(value: Any) -> str:
    """The YAML tag Go's yaml decoders name in type errors (`cannot unmarshal !!str into int`)."""
    if isinstance(value, dict):
        return "!!map"
    if isinstance(value, list):
        return "!!seq"
    if isinstance(value, bool):
        return "!!bool"
    if isinstance(value, int):
        return "!!int"
    if isinstance(value, float):
        return "!!float"
    if value is None:
        return "!!null"
    return "!!str"


def _loc(node: Node) -> Loc:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node graph into Pos* values, counting alias uses against the limits."""

    def __init__(self, filename: str, limits: Limits) -> None:
        self.filename = filename
        self.limits = limits
        self.nodes = 0
        self.aliases = 0
        self.constructor = yaml.SafeLoader("")  # used for scalar resolution only
        self.seen: set[int] = set()

    def fail(self, message: str, node: Node) -> InputError:
        line, col = _loc(node)
        return InputError(message, self.filename, line, col)

    def build(self, node: Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"document too large: more than {self.limits.max_nodes} YAML nodes", node)
        if depth > self.limits.max_depth:
            raise self.fail(f"nesting deeper than {self.limits.max_depth} levels", node)
        kind = type(node)
        if kind is ScalarNode:
            return node.value if node.tag == _STR_TAG else self.scalar(node)
        key = id(node)
        if key in self.seen:
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise self.fail(
                    f"too many alias expansions (more than {self.limits.max_aliases}); refusing a possible alias bomb",
                    node,
                )
        else:
            self.seen.add(key)
        mark = node.start_mark
        child = depth + 1
        if kind is SequenceNode:
            seq = PosList()
            seq.loc = (mark.line + 1, mark.column + 1)
            locs = seq.item_locs
            for item in node.value:
                seq.append(self.build(item, child))
                m = item.start_mark
                locs.append((m.line + 1, m.column + 1))
            return seq
        if kind is MappingNode:
            if any(k.tag == _MERGE_TAG or k.tag == _VALUE_TAG for k, _ in node.value):
                try:
                    self.constructor.flatten_mapping(node)  # type: ignore[arg-type]
                except yaml.YAMLError as exc:
                    raise self.fail(f"invalid merge key: {_problem(exc)}", node) from None
            mapping = PosDict()
            mapping.loc = (mark.line + 1, mark.column + 1)
            end = node.end_mark
            mapping.end = (end.line + 1, end.column + 1)
            info = mapping.info
            if node.value and child > self.limits.max_depth:
                raise self.fail(f"nesting deeper than {self.limits.max_depth} levels", node.value[0][0])
            for key_node, value_node in node.value:
                if type(key_node) is ScalarNode and key_node.tag == _STR_TAG:
                    self.nodes += 1
                    skey = key_node.value
                else:
                    raw_key = self.build(key_node, child)
                    if isinstance(raw_key, (dict, list)):
                        raise self.fail("mapping keys must be scalars", key_node)
                    skey = _key_text(raw_key)
                if skey in mapping:
                    raise self.fail(f'mapping key "{skey}" already defined', key_node)
                text = None
                if type(value_node) is ScalarNode:
                    self.nodes += 1
                    text = value_node.value
                    mapping[skey] = text if value_node.tag == _STR_TAG else self.scalar(value_node)
                else:
                    mapping[skey] = self.build(value_node, child)
                km, vm = key_node.start_mark, value_node.start_mark
                info[skey] = ((km.line + 1, km.column + 1), (vm.line + 1, vm.column + 1), text)
            if self.nodes > self.limits.max_nodes:
                raise self.fail(f"document too large: more than {self.limits.max_nodes} YAML nodes", node)
            return mapping
        raise self.fail("unsupported YAML node", node)  # pragma: no cover

    def scalar(self, node: Node) -> Any:
        if node.tag.startswith("!"):
            # a local tag (`!foo`): Go's yaml.v3 decodes the scalar as its plain text, as promtool does
            return node.value
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self.fail(f"invalid scalar: {_problem(exc)}", node) from None
        except Exception as exc:  # PyYAML's constructors fail in odd ways on odd input (`!!float` alone)
            raise self.fail(f"invalid scalar: cannot decode {node.value!r} as {node.tag.rsplit(':', 1)[-1]} "
                            f"({type(exc).__name__})", node) from None


def _key_text(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    return key if isinstance(key, str) else str(key)


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"{context}: {problem}" if context else str(problem)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Switch the cyclic garbage collector off for a burst of allocations.

    Loading and linting build many small objects that are never cyclic garbage; the collector would
    otherwise rescan the growing heap over and over (a third of the run time on a 10,000-rule file).
    Reference counting still frees everything; cycles made meanwhile are collected once it is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def loads_documents(text: str | bytes, filename: str = "<input>", limits: Limits = DEFAULT_LIMITS,
                   stats: dict[str, int] | None = None) -> list[Any]:
    """Parse every document of a YAML stream. Empty documents come back as None.

    `stats`, if given, receives {"nodes": N}: the nodes counted against `limits.max_nodes`."""
    if isinstance(text, bytes):
        if len(text) > limits.max_bytes:
            raise InputError(f"file too large ({len(text)} bytes, limit {limits.max_bytes})", filename)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", filename) from None
    elif len(text) > limits.max_bytes:
        raise InputError(f"file too large ({len(text)} characters, limit {limits.max_bytes})", filename)
    if "\x00" in text:
        raise InputError("binary data (NUL byte) in YAML file", filename, *_offset_loc(text, text.index("\x00")))
    with paused_gc():
        fast = _fast_documents(text, filename, limits, stats)
    if fast is not None:
        return fast
    loader = _BaseLoader(text)
    builder = _Builder(filename, limits)
    docs: list[Any] = []
    try:
        with paused_gc():
            while loader.check_node():
                node = loader.get_node()
                docs.append(None if node is None else builder.build(node))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise InputError(f"invalid YAML: {_problem(exc)}", filename, line, col) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {_problem(exc)}", filename) from None
    except RecursionError:
        raise InputError("invalid YAML: nesting too deep", filename) from None
    finally:
        loader.dispose()
        if stats is not None:
            stats["nodes"] = builder.nodes
    return docs



# -- fast path ----------------------------------------------------------------------------------------------
# Most rule files use a small part of YAML: block mappings and sequences, one scalar per line, plain or quoted
# on that line, comments. `_fast_documents` reads such a file straight from its lines into the same Pos*
# values (same positions, same end marks, same node count) as the composer and _Builder, several times
# faster; on anything else (flow style, block or multi-line scalars, anchors, aliases, tags, several
# documents, tabs, non-ASCII text, duplicate keys, odd indentation, an empty value...) it gives up and the
# full path reads the file, with its errors and limits.

class _GiveUp(Exception):
    pass


# the characters a fast-path text may hold: printable ASCII and \n (control characters, \t and \r go the full way)
_FAST_OK_BYTES = bytes([10, *range(32, 127)])
# a plain mapping key's text: what stands before its `:` (and a space or the line's end)
_FAST_KEY_TEXT = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`=<][^\s#:]*(?::[^\s#:]+)*")
_FAST_DQ = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"')
_FAST_SQ = re.compile(r"'([^']*(?:''[^']*)*)'")
_FAST_SQ_OPEN = re.compile(r"(?:[^']|'')*")  # the text of a single-quoted scalar up to its closing quote
_FAST_DQ_OPEN = re.compile(r'(?:[^"\\]|\\.)*')  # the same, double-quoted (to a quote, or a backslash ending a line)
_FAST_ESCAPES = {"0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "n": "\n", "v": "\x0b", "f": "\x0c", "r": "\r",
                 "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
                 "L": "\u2028", "P": "\u2029"}
_FAST_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_FAST_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
# first characters of a plain scalar that is a string whatever follows (no implicit resolver starts with them)
_FAST_STR_FIRST = frozenset() if _WILDCARD else \
    frozenset(map(chr, range(33, 127))) - _FAST_PLAIN_START - frozenset(_IMPLICIT)
_MISSING = object()


def _fast_unescape(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2) or m.group(3)
    if code is not None:  # \xXX, \uXXXX, \UXXXXXXXX: a code point (libyaml refuses surrogates and beyond)
        value = int(code, 16)
        if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
            raise _GiveUp
        return chr(value)
    found = _FAST_ESCAPES.get(m.group(4))
    if found is None:  # an unknown escape: the full path words the error
        raise _GiveUp
    return found


def _fast_unescape_all(text: str) -> str:
    """The value of a double-quoted scalar whose inner text `text` (as _FAST_DQ matched it) holds escapes."""
    if "\\\\" not in text:
        # Without an escaped backslash every backslash starts an escape, so the usual `\n` and `\"` can be
        # replaced in place: two str.replace calls instead of a Python call-back per escape (a rule file's
        # descriptions hold tens of thousands). Anything else left over takes the general way.
        value = text.replace("\\n", "\n").replace('\\"', '"')
        if "\\" not in value:
            return value
    return _FAST_ESCAPE.sub(_fast_unescape, text)


class _FastReader:
    def __init__(self, text: str, builder: _Builder) -> None:
        lines = text.split("\n")
        total, last = len(lines), lines[-1]
        # (1-based line number, indent, the line from its indent on) of the lines with content. Directives and
        # document markers (`%`, `---`, `...` at the left margin) need no test: the root node is read from the
        # left margin or leaves such a line unread, and no mapping key starts with `-` or `%`, nor at the left
        # margin with `...` (see key()), so the readers give up on them.
        rows = [(number, len(line) - len(content), content) for number, line in enumerate(lines, 1)
                if (content := line.lstrip(" ")) and content[0] != "#"]
        if last and (not rows or rows[-1][0] != total):
            # the text ends in a comment or spaces without a newline: libyaml ends the blocks deeper than
            # that last line's length on it, the others on the next line; not worth the care
            raise _GiveUp
        # the line after the last one (libyaml's stream end: a last line without a newline counts)
        self.stream_end = (total + 1 if last else total, 1)
        # a last row, indented less than any, so that the readers need no test for the end of the rows
        rows.append((self.stream_end[0], -1, ""))
        self.rows = rows
        self.lines = lines
        self.k = 0
        self.keys: dict[str, str] = {}  # key text -> mapping key, for the key texts found valid
        self.plains: dict[str, Any] = {}  # plain scalar text -> its value (resolve()'s memo)
        self.builder = builder

    def scalar(self, source: str) -> tuple[Any, str]:
        """(value, text) of the scalar that `source` (a line from the scalar's first character on) holds."""
        first = source[0]
        if first == '"':
            if source[-1] == '"' and len(source) > 1:
                # A quoted string that ends the line, as most do: a few substring searches tell that it
                # is one string (as _FAST_DQ would match it, which costs a regex step per character)
                text = source[1:-1]
                if '"' not in text:
                    if "\\" not in text:
                        return text, text
                    # Line breaks are the usual escapes: when every backslash starts a `\n`, none is left
                    # after replacing them (and none escapes a backslash); other escapes take the general way.
                    value = text.replace("\\n", "\n")
                    if "\\" not in value:
                        return value, value
            m = _FAST_DQ.match(source)
            if m is None:
                raise _GiveUp
            text = m.group(1)
            if "\\" in text:
                text = _fast_unescape_all(text)
            self.tail(source, m.end())
            return text, text
        if first == "'":
            m = _FAST_SQ.match(source)
            if m is None:
                raise _GiveUp
            text = m.group(1).replace("''", "'")
            self.tail(source, m.end())
            return text, text
        if first in _FAST_PLAIN_START and not (first == "-" and source[1:2] not in ("", " ")):
            raise _GiveUp
        end = source.find(" #")
        text = (source if end < 0 else source[:end]).rstrip(" ")
        if ": " in text or text.endswith(":"):
            raise _GiveUp
        return self.resolve(text), text

    @staticmethod
    def tail(line: str, end: int) -> None:
        rest = line[end:]
        if rest and (rest[0] != " " or (rest.strip(" ") and rest.lstrip(" ")[0] != "#")):
            raise _GiveUp

    def resolve(self, text: str) -> Any:
        """The value of the plain scalar `text`; memoised, as rule files repeat `5m`, `1`, `true`..."""
        value = self.plains.get(text, _MISSING)
        if value is not _MISSING:
            return value
        tag = _plain_tag(text)
        if tag == _STR_TAG:
            value = text
        elif tag == _MERGE_TAG or tag == _VALUE_TAG:
            raise _GiveUp
        else:
            try:  # ints, floats, bools, null, timestamps: immutable values, safe to share
                value = self.builder.constructor.construct_object(ScalarNode(tag, text), deep=True)
            except Exception:  # the full path words the error
                raise _GiveUp from None
        self.plains[text] = value
        return value

    def key(self, text: str, col: int) -> str | None:
        """The mapping key the key text `text` at `col` stands for (as _Builder makes it), None if it is not a
        plain key."""
        skey = self.keys.get(text)
        if skey is None:
            if _FAST_KEY_TEXT.fullmatch(text) is None:
                return None
            key = self.resolve(text)
            skey = key if isinstance(key, str) else _key_text(key)
            if not text.startswith("..."):
                self.keys[text] = skey
            elif col == 0:  # `...` at the left margin ends the document: the rows were not tested for it
                return None
        return skey

    def has_key(self, content: str, col: int) -> bool:
        """Whether `content` (at `col`) starts with a plain mapping key: its text, `:`, then a space or the
        line's end."""
        head, colon, _ = content.partition(": ")
        if not colon:
            if content[-1] != ":":
                return False
            head = content[:-1]
        return head in self.keys or self.key(head, col) is not None

    def node(self, col: int, depth: int) -> Any:
        """The block node starting at `col` of the current row (a mapping, a sequence or a scalar)."""
        if depth > 100:
            raise _GiveUp
        content = self.rows[self.k][2]
        if content[:2] in ("- ", "-"):  # (a slice: cheaper than str.startswith, which parses its arguments)
            return self.sequence(col, depth)
        return self.mapping(col, depth, content)  # which gives up unless a key starts the row

    def mapping(self, col: int, depth: int, content: str) -> PosDict:
        """The block mapping whose first key starts `content`, the current row's text from `col` on."""
        rows, keys, plains = self.rows, self.keys, self.plains
        str_first = _FAST_STR_FIRST
        first = k = self.k
        below = nested = 0  # rows read by the nested nodes, how many of them
        mapping = dict.__new__(PosDict)
        info: dict[str, tuple[Loc, Loc, str | None]] = {}
        mapping.info = info
        key_col = col + 1
        number = rows[k][0]
        mapping.loc = (number, key_col)
        while True:
            # The key ends at the first ": " or at a ":" ending the line; its text is checked against
            # _FAST_KEY_TEXT once per distinct text (in key()), not once per line. str.partition also cuts
            # out the value's text, in fewer steps than str.find and two slices.
            head, colon, text = content.partition(": ")
            if not colon:
                if content[-1] != ":":
                    raise _GiveUp
                head = content[:-1]
            skey = keys.get(head)
            if skey is None:
                skey = self.key(head, col)
                if skey is None:
                    raise _GiveUp
            vcol = col + len(head) + 2
            was_plain = True  # (a plain scalar may go on over the next rows)
            if text[:1] in str_first and " #" not in text and ": " not in text and text[-1] not in " :":
                value = text  # the common case: a plain scalar to the line's end that can only be a string
            elif (value := plains.get(text, _MISSING)) is _MISSING:  # else a plain scalar read before, or:
                if text[:1] == " ":  # more than one space after the colon
                    text = text.lstrip(" ")
                    vcol = col + len(content) - len(text)
                if text and text[0] != "#":
                    first_char = text[0]
                    was_plain = first_char not in "'\"|"
                    if first_char == "|" or (first_char == "'" and _FAST_SQ_OPEN.fullmatch(text, 1)) or (
                            first_char == '"' and (m := _FAST_DQ_OPEN.match(text, 1)) is not None
                            and text[m.end():] in ("", "\\")):
                        # a literal block scalar (`expr: |`, as most hand-written rule files hold) or a
                        # single-quoted one over several lines (as PyYAML writes them): its lines are raw
                        # lines, not rows, and the rows it covers count as read below
                        if first_char == "|":
                            value, last_line = self.literal(text, number, col)
                        else:
                            value, last_line = self.quoted_lines(text, number, col)
                        text = value
                        after = k + 1
                        while rows[after][0] <= last_line:
                            after += 1
                        below += after - k - 1
                        k = after - 1
                    else:
                        value, text = self.scalar(text)
            if value is not _MISSING:
                mapping[skey] = value
                info[skey] = ((number, key_col), (number, vcol + 1), text)
                k += 1
            else:  # nothing after the colon: the value is the block node on the next rows
                k += 1
                value_number, indent, value_content = rows[k]
                if indent > col or (indent == col and value_content[:2] == "- "):
                    self.k = k
                    if depth >= 100:
                        raise _GiveUp
                    # as node() does (called here directly: one call less for the many nested values)
                    if value_content[:2] in ("- ", "-"):
                        mapping[skey] = self.sequence(indent, depth + 1)
                    else:
                        mapping[skey] = self.mapping(indent, depth + 1, value_content)
                    info[skey] = ((number, key_col), (value_number, indent + 1), None)
                    below += self.k - k
                    nested += 1
                    k = self.k
                else:
                    raise _GiveUp  # an empty value (null): the full path
                was_plain = False
            number, indent, content = rows[k]
            if indent == col:
                continue  # the next key (a `-` there is no key: the next round gives up)
            if indent > col:  # a continuation line: of a plain scalar (as PyYAML folds long ones), or wrong
                first_text = info[skey][2]
                if not was_plain or first_text is None:
                    raise _GiveUp
                continued = k
                value, folded, k = self.fold_plain(first_text, k, col)
                below += k - continued
                mapping[skey] = value
                key_loc, value_loc, _ = info[skey]
                info[skey] = (key_loc, value_loc, folded)
                number, indent, content = rows[k]
                if indent == col:
                    continue
            # Each key took one row, and the nested nodes theirs: so many keys were read. Fewer in the mapping
            # means a key came twice (the full path words that error). Counted here once, not per key.
            read = k - first - below
            if len(mapping) != read:
                raise _GiveUp
            mapping.end = (number, indent + 1) if indent >= 0 else self.stream_end
            self.k = k
            # the mapping, its keys and its scalar values (the nested nodes counted their own)
            self.builder.nodes += 1 + 2 * read - nested
            return mapping

    def literal(self, indicator: str, number: int, col: int) -> tuple[str, int]:
        """(value, number of its last content line) of the literal block scalar whose indicator (`|` or
        `|-`, nothing after it) ends line `number`, in a mapping at `col`. Gives
        up on keep chomping (`|+`), indentation indicators, comments after the indicator, lines of spaces
        only, an empty scalar and a scalar that ends the text without a line break."""
        if indicator != "|" and indicator != "|-":
            raise _GiveUp
        lines = self.lines
        # the lines after the indicator's, to the last that ends in a line break
        end = len(lines) - 1
        i = number  # index of the line after the indicator's
        leading = 0
        while i < end and not lines[i]:
            leading += 1
            i += 1
        if i >= end:
            raise _GiveUp
        first = lines[i]
        content = first.lstrip(" ")
        indent = len(first) - len(content)
        if indent <= col or not content:
            raise _GiveUp  # an empty scalar (the next key at the mapping's column), or spaces only
        parts = [first[indent:]]
        last = i  # index of the last content line
        i += 1
        while True:
            if i >= end:
                if lines[end]:
                    raise _GiveUp  # the text's last line, without a line break, might be the scalar's
                break
            line = lines[i]
            if line:
                if line[:indent].strip(" "):  # less indented: the scalar ended
                    break
                if not line.strip(" "):
                    raise _GiveUp  # a line of spaces only (libyaml keeps those beyond the indentation)
                parts.extend([""] * (i - last - 1))  # the empty lines between
                parts.append(line[indent:])
                last = i
            i += 1
        value = "\n" * leading + "\n".join(parts)
        return (value if indicator == "|-" else value + "\n"), last + 1

    def fold_plain(self, first: str, k: int, col: int) -> tuple[Any, str, int]:
        """(value, text, next row) of the plain scalar whose first line's text is `first` (on the row before
        row `k`) and whose continuation lines are rows from `k` on, indented deeper than `col`: lines joined
        by a space, or by a line break for each empty line between them (as libyaml folds them). Gives up on
        a comment on or between its lines, and on lines that may hold a key or a comment."""
        rows, lines = self.rows, self.lines
        prev = rows[k - 1][0]
        if " #" in lines[prev - 1]:
            raise _GiveUp  # the first line ends in a comment: what follows cannot continue it
        parts = [first]
        while True:
            number, indent, content = rows[k]
            if indent <= col:
                break
            for j in range(prev, number - 1):  # the lines between: empty, spaces or a comment
                if lines[j].strip(" "):
                    raise _GiveUp
            if content[0] == ":" or ": " in content or " #" in content or content[-1] == ":":
                raise _GiveUp  # (`- x` and `? x` there are text: no key or item starts inside a scalar)
            parts.append(" " if number - prev == 1 else "\n" * (number - prev - 1))
            parts.append(content.rstrip(" "))
            prev = number
            k += 1
        folded = "".join(parts)
        return self.resolve(folded), folded, k

    def quoted_lines(self, text: str, number: int, col: int) -> tuple[str, int]:
        """(value, number of the closing line) of the quoted scalar that `text` (line `number`) opens and a
        later line closes, in a mapping at `col`. Line breaks fold as in plain
        scalars: the spaces around one are dropped, a lone one gives a space, n in a row n - 1 line breaks;
        in double quotes, a backslash ending a line drops its line break (keeping the spaces before it).
        Gives up on lines indented no deeper than `col`, on a scalar left open and on a backslash before
        spaces that end a line."""
        lines = self.lines
        end = len(lines) - 1
        double = text[0] == '"'
        body_re = _FAST_DQ_OPEN if double else _FAST_SQ_OPEN
        pieces: list[str] = []
        content = text[1:]
        i = number - 1  # index of the line being read
        breaks = -1  # line breaks before this line's text (-1: the first line, or after an escaped break)
        while True:
            # the body pattern matches always (it may match nothing); it stops at the closing quote or, in
            # double quotes, at a backslash ending the line (it takes `\\x` escapes whole)
            raw = body_re.match(content).end()  # type: ignore[union-attr]
            body = content[:raw]
            if breaks > 0:
                pieces.append(" " if breaks == 1 else "\n" * (breaks - 1))
            closed = raw < len(content) and content[raw] != "\\"
            escaped_break = not closed and raw < len(content)  # a backslash ending the line
            if not closed and not escaped_break:
                stripped = body.rstrip(" ")
                if stripped.endswith("\\"):
                    raise _GiveUp  # `\\ ` before the line break: an escaped space (or backslash), not worth it
                body = stripped
            if double:
                if "\\" in body:
                    body = _fast_unescape_all(body)
            elif "''" in body:
                body = body.replace("''", "'")
            pieces.append(body)
            if closed:
                self.tail(content, raw + 1)
                break
            breaks = 0 if escaped_break else 1
            i += 1
            while True:
                if i >= end:
                    raise _GiveUp
                line = lines[i]
                content = line.lstrip(" ")
                if content:
                    break
                breaks += 1
                i += 1
            if len(line) - len(content) <= col:
                raise _GiveUp
            if escaped_break:
                if breaks:
                    pieces.append("\n" * breaks)
                breaks = -1
        return "".join(pieces), i + 1

    def sequence(self, col: int, depth: int) -> PosList:
        builder = self.builder
        builder.nodes += 1
        rows = self.rows
        seq = PosList()
        seq.loc = (rows[self.k][0], col + 1)
        locs = seq.item_locs
        while True:
            number, _, content = rows[self.k]
            rest = content[1:].lstrip(" ")  # the item
            if rest[:1] in ("", "#", "-"):
                raise _GiveUp  # `-` alone (a null, or the item on the next line), `- - x`
            item = col + len(content) - len(rest)
            locs.append((number, item + 1))
            if self.has_key(rest, item):
                seq.append(self.mapping(item, depth + 1, rest))
            else:
                builder.nodes += 1
                seq.append(self.scalar(rest)[0])
                self.k += 1
            _, indent, content = rows[self.k]
            if indent == col and content[:2] == "- ":
                continue
            if indent > col:
                raise _GiveUp
            return seq


def _fast_documents(text: str, filename: str, limits: Limits, stats: dict[str, int] | None) -> list[Any] | None:
    """The one document of `text` by the fast path, or None when it is not for the fast path."""
    # str.isascii() is O(1); deleting the allowed bytes leaves the others, far faster than a regex search
    if not text.isascii() or text.encode("ascii").translate(None, _FAST_OK_BYTES):
        return None
    builder = _Builder(filename, limits)
    try:
        reader = _FastReader(text, builder)
        if len(reader.rows) == 1:  # no content
            return None
        doc = reader.node(reader.rows[0][1], 0)
    except (_GiveUp, IndexError):
        return None
    if reader.k != len(reader.rows) - 1 or builder.nodes > limits.max_nodes:
        return None
    if stats is not None:
        stats["nodes"] = builder.nodes
    return [doc]


def _offset_loc(text: str, offset: int) -> Loc:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return (line, col)


def read_text(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> str:
    """Read a UTF-8 file with a size limit; every failure is an InputError naming the file."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
        if size > limits.max_bytes:
            raise InputError(f"file too large ({size} bytes, limit {limits.max_bytes})", name)
        data = p.read_bytes()
    except InputError:
        raise
    except IsADirectoryError:
        raise InputError("is a directory", name) from None
    except FileNotFoundError:
        raise InputError("no such file", name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", name) from None


def load_documents(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> list[Any]:
    """Read and parse a YAML file (all documents)."""
    return loads_documents(read_text(path, limits), str(path), limits)


def load_one(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Any:
    """Read a YAML file that must hold exactly one document (an empty file gives None)."""
    docs = load_documents(path, limits)
    if len(docs) > 1:
        raise InputError("expected a single YAML document, found several", str(path))
    return docs[0] if docs else None
