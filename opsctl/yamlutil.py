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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsctl.errors import InputError

try:  # the C parser is much faster when libyaml is present
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_aliases: int = 10_000
    max_depth: int = 200
    max_nodes: int = 5_000_000


DEFAULT_LIMITS = Limits()

Loc = tuple[int, int]
_STR_TAG = "tag:yaml.org,2002:str"


class PosDict(dict[str, Any]):
    """A dict from YAML that knows where it and its keys/values stand (1-based line, column)."""

    loc: Loc = (0, 0)
    end: Loc = (0, 0)
    key_locs: dict[str, Loc]
    value_locs: dict[str, Loc]
    scalar_texts: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_locs = {}
        self.value_locs = {}
        self.scalar_texts = {}

    def text(self, key: str) -> str | None:
        """The source text of a scalar value as a Go YAML decoder would put it in a string field.

        `yes`, `1.50` or `5` stay as written (PyYAML would make them bool/float/int); null is "".
        Returns None when the key is missing or its value is not a scalar.
        """
        if key not in self.scalar_texts:
            return None
        return "" if self[key] is None else self.scalar_texts[key]

    def key_loc(self, key: str) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: str) -> Loc:
        return self.value_locs.get(key, self.key_loc(key))


class PosList(list[Any]):
    """A list from YAML that knows where it and each item stand."""

    loc: Loc = (0, 0)
    item_locs: list[Loc]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_locs = []

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
        self.seen: dict[int, int] = {}

    def fail(self, message: str, node: Node) -> InputError:
        line, col = _loc(node)
        return InputError(message, self.filename, line, col)

    def build(self, node: Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"document too large: more than {self.limits.max_nodes} YAML nodes", node)
        if depth > self.limits.max_depth:
            raise self.fail(f"nesting deeper than {self.limits.max_depth} levels", node)
        if not isinstance(node, ScalarNode):
            key = id(node)
            self.seen[key] = self.seen.get(key, 0) + 1
            if self.seen[key] > 1:
                self.aliases += 1
                if self.aliases > self.limits.max_aliases:
                    raise self.fail(
                        f"too many alias expansions (more than {self.limits.max_aliases}); "
                        "refusing a possible alias bomb",
                        node,
                    )
        if isinstance(node, ScalarNode):
            if node.tag == _STR_TAG:
                return node.value
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise self.fail(f"invalid scalar: {_problem(exc)}", node) from None
            except (ValueError, OverflowError) as exc:
                raise self.fail(f"invalid scalar: {exc}", node) from None
        if isinstance(node, SequenceNode):
            seq = PosList()
            seq.loc = _loc(node)
            for item in node.value:
                seq.append(self.build(item, depth + 1))
                seq.item_locs.append(_loc(item))
            return seq
        if isinstance(node, MappingNode):
            try:
                self.constructor.flatten_mapping(node)
            except yaml.YAMLError as exc:
                raise self.fail(f"invalid merge key: {_problem(exc)}", node) from None
            mapping = PosDict()
            mapping.loc = _loc(node)
            mapping.end = (node.end_mark.line + 1, node.end_mark.column + 1)
            for key_node, value_node in node.value:
                raw_key = self.build(key_node, depth + 1)
                if isinstance(raw_key, (dict, list)):
                    raise self.fail("mapping keys must be scalars", key_node)
                skey = _key_text(raw_key)
                if skey in mapping:
                    raise self.fail(f'mapping key "{skey}" already defined', key_node)
                mapping[skey] = self.build(value_node, depth + 1)
                if isinstance(value_node, ScalarNode):
                    mapping.scalar_texts[skey] = value_node.value
                mapping.key_locs[skey] = _loc(key_node)
                mapping.value_locs[skey] = _loc(value_node)
            return mapping
        raise self.fail("unsupported YAML node", node)  # pragma: no cover


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


def loads_documents(text: str | bytes, filename: str = "<input>", limits: Limits = DEFAULT_LIMITS) -> list[Any]:
    """Parse every document of a YAML stream. Empty documents come back as None."""
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
    loader = _BaseLoader(text)
    builder = _Builder(filename, limits)
    docs: list[Any] = []
    # Composing builds many small objects that are never cyclic garbage; the cyclic collector would
    # otherwise rescan the whole heap over and over (several times slower in a process with pandas loaded).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
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
        if gc_was_enabled:
            gc.enable()
    return docs


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
