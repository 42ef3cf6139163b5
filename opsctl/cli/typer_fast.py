"""Option values without pydantic for the plain cases: Typer 0.29 coerces every parameter of the command being
run through a pydantic TypeAdapter, which costs the import of pydantic and one schema build per parameter
(about a quarter of a second for `opsctl rules validate`, whose own work on one rule file takes a few ms).

`install()` puts a coercion in front of Typer's that handles what our commands take - str, int and float
(plain decimal text, within min/max), enums, pathlib.Path and lists of them - exactly as Typer's adapters
would, and hands everything else (bad values included, so error messages stay Typer's own) to Typer's
pydantic-based coercion. On a Typer without that layer (no `build_runtime_param`) it does nothing.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_MISS = object()
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _in_range(v: float, info: Any) -> bool:
    return (info.min is None or v >= info.min) and (info.max is None or v <= info.max)


def _leaf(ann: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """`value` coerced to `ann` as Typer's adapter would, or _MISS to let Typer (pydantic) do it."""
    from typer._param_types import coerce_cli_choice, coerce_cli_path

    if ann is str:
        return value if type(value) is str else _MISS
    if isinstance(ann, type) and issubclass(ann, Enum):
        try:
            return coerce_cli_choice(value, choices=list(ann), case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:  # not a choice: Typer words the error
            return _MISS
    if ann is int or ann is float:
        if info.clamp:
            return _MISS
        if type(value) is int or (ann is float and type(value) is float):
            v: float = ann(value)
        elif type(value) is str and (_INT if ann is int else _FLOAT).fullmatch(value):
            v = ann(value)
        else:
            return _MISS
        return v if _in_range(v, info) else _MISS
    if ann is Path and info.path_type in (None, Path):
        if type(value) is str:
            value = Path(value)
        if not isinstance(value, Path):
            return _MISS
        return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
    return _MISS


def _fast(desc: Any, value: Any, param: Any, ctx: Any) -> Any:
    info = desc.parameter_info
    ann = desc.annotation
    if info.parser is not None or desc.file_annotation is not None:
        return _MISS
    if get_origin(ann) is list:
        if not isinstance(value, (list, tuple)):
            return _MISS
        (item,) = get_args(ann)
        out = []
        for v in value:
            r = _leaf(item, info, v, param, ctx)
            if r is _MISS:
                return _MISS
            out.append(r)
        return out
    if get_origin(ann) is not None:
        return _MISS
    return _leaf(ann, info, value, param, ctx)


def install() -> None:
    try:
        from typer import core
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # a Typer without the pydantic coercion layer
        return
    if getattr(core, "build_runtime_param", None) is not build_runtime_param:
        return  # already installed, or a layout we do not know

    class _FastRuntimeParam(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            desc = param.type_descriptor
            r = _fast(desc, value, param, ctx)
            if r is not _MISS:
                return r
            slow = self.__dict__.get("_slow")
            if slow is None:
                slow = build_runtime_param(desc)
                object.__setattr__(self, "_slow", slow)  # a frozen dataclass
            return slow._coerce_value(value, param=param, ctx=ctx)

    def fast_build(descriptor: Any) -> Any:
        if descriptor.file_annotation is not None:
            return build_runtime_param(descriptor)
        return _FastRuntimeParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)

    core.build_runtime_param = fast_build
