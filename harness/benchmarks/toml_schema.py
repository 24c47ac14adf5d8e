"""Typed TOML tables: a dataclass is the schema; unknown keys, missing keys and wrong types are one-line errors.

Why a helper of its own: a benchmark spec is data a host writes by hand, and a misspelt key (``colum =``) that is
silently ignored changes what a benchmark measures. Every table of a spec is read through :func:`typed`, which
names the file, the table and the key of the first problem (:class:`~harness.errors.SpecError`).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import SpecError

T = TypeVar("T")


def load_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path``; a missing or malformed file is a SpecError naming it."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise SpecError(f"benchmark spec {path} is unreadable: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"benchmark spec {path} is malformed TOML: {exc}") from None


def _accepts(tp: Any, value: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is not None:  # dict[...], list[...], tuple[...]
        return isinstance(value, origin)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def type_name(tp: Any) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return type_name(args[0])
    origin = typing.get_origin(tp)
    if origin is dict:
        return "table"
    if origin in (list, tuple):
        return "array"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp, getattr(tp, "__name__", str(tp)))


def check_value(tp: Any, value: Any, where: str, key: str) -> Any:
    """``value`` if it has type ``tp`` (ints are accepted as floats, and converted); SpecError otherwise."""
    if not _accepts(tp, value):
        name = type_name(tp)
        article = "an" if name[:1] in "aeiou" else "a"
        raise SpecError(f"{where}: key {key!r} must be {article} {name}, got {type(value).__name__} {value!r}")
    if tp is float or (typing.get_origin(tp) in (typing.Union, types.UnionType) and float in typing.get_args(tp)
                       and isinstance(value, int) and not isinstance(value, bool)):
        return float(value)
    return value


def typed(cls: type[T], table: Any, where: str, *, skip: tuple[str, ...] = ()) -> T:
    """An instance of the dataclass ``cls`` from the TOML ``table``; ``where`` names the file and table in errors.

    Every key of ``table`` must be a field of ``cls`` (``skip`` fields are never read from TOML), every field
    without a default must be given, and each value must have the field's type.
    """
    if not isinstance(table, dict):
        raise SpecError(f"{where} must be a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip and f.init}  # type: ignore[arg-type]
    unknown = [k for k in table if k not in fields]
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(fields)})")
    values = {}
    for name, f in fields.items():
        if name in table:
            values[name] = check_value(hints[name], table[name], where, name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            raise SpecError(f"{where}: missing key {name!r}")
    return cls(**values)


def positive_int(value: Any, where: str, key: str) -> int:
    """``value`` if it is an integer >= 1 (booleans are not integers here); SpecError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{where}: key {key!r} must be a positive integer, got {type(value).__name__} {value!r}")
    return value
