"""Strict TOML tables into frozen dataclasses: the typed parser behind `camtrap.config`.

A dataclass is the schema: each field's type says what the TOML value must be (bool, int,
float, str, Literal choices, tuples, tables, nested sections, optional values) and its
metadata the limits (``min``/``max`` inclusive, a tuple's ``items``, a string's whole-match
``pattern``, a ``doc`` line). Unknown, missing, mistyped, non-finite and out-of-range keys are
`ConfigError` naming the file and the dotted key path; every problem of a document is
collected and raised together (`camtrap.errors.ConfigErrors`).
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, get_args, get_origin

from camtrap.errors import ConfigError, Problems

T = TypeVar("T")


def parse_table(cls: type[T], raw: Any, source: str) -> T:
    """Validate a parsed TOML document (or table) into ``cls``."""
    return _parse_dataclass(cls, raw, source, "")


def _parse_dataclass(cls: type, table: Any, source: str, prefix: str) -> Any:
    """Every problem of the table (unknown, missing, bad keys, nested ones too) is collected
    and raised together, so one run of `camtrap validate-config` shows them all."""
    if not isinstance(table, dict):
        raise ConfigError(source, prefix or "(root)", f"must be a table, got {_kind(table)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    found = Problems()
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            choices = ", ".join(sorted(known))
            found.add(ConfigError(source, where, f"unknown key (known here: {choices})"))
    values: dict[str, Any] = {}
    for name, f in known.items():
        path = f"{prefix}.{name}" if prefix else name
        if name in table:
            with found.check():
                values[name] = _parse_value(hints[name], table[name], f.metadata, source, path)
        elif f.default is MISSING and f.default_factory is MISSING:
            found.add(ConfigError(source, path, "missing"))
    found.raise_any()
    try:
        return cls(**values)
    except ValueError as e:  # a section's own cross-field check (e.g. [deployment]): "key: why"
        key, _, why = str(e).partition(": ")
        where = f"{prefix}.{key}" if prefix and why else prefix or "(root)"
        raise ConfigError(source, where, why or str(e)) from None


def _parse_value(tp: Any, value: Any, meta: Any, source: str, path: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if is_dataclass(tp):
        return _parse_dataclass(typing.cast(type, tp), value, source, path)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _parse_value(inner[0], value, meta, source, path)
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args if a != "")
            raise ConfigError(source, path, f"must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        return _parse_tuple(args, value, meta, source, path)
    if origin is dict:
        return _parse_table(args[1], value, meta, source, path)
    return _parse_scalar(tp, value, meta, source, path)


def _parse_table(inner: Any, value: Any, meta: Any, source: str, path: str) -> dict[str, Any]:
    """A table of free keys (``[verdict.target_groups]``), each value of type ``inner``."""
    if not isinstance(value, dict):
        raise ConfigError(source, path, f"must be a table, got {_kind(value)}")
    return {str(k): _parse_value(inner, v, meta, source, f"{path}.{k}") for k, v in value.items()}


def _parse_tuple(args: tuple[Any, ...], value: Any, meta: Any, source: str, path: str) -> Any:
    if not isinstance(value, list):
        raise ConfigError(source, path, f"must be an array, got {_kind(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        lo, hi = meta.get("items", (0, None))
        if len(value) < lo or (hi is not None and len(value) > hi):
            raise ConfigError(
                source, path, f"must have {lo}..{'' if hi is None else hi} items, got {len(value)}"
            )
        return tuple(
            _parse_value(args[0], v, meta, source, f"{path}[{i}]") for i, v in enumerate(value)
        )
    if len(value) != len(args):
        raise ConfigError(source, path, f"must have {len(args)} items, got {len(value)}")
    return tuple(
        _parse_value(a, v, meta, source, f"{path}[{i}]")
        for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _parse_scalar(tp: Any, value: Any, meta: Any, source: str, path: str) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, path, f"must be true or false, got {_kind(value)}")
        return value
    if tp is str:
        if isinstance(value, datetime) and value.tzinfo is not None:  # TOML offset date-time
            return value.isoformat()
        if not isinstance(value, str):
            raise ConfigError(source, path, f"must be a string, got {_kind(value)}")
        pattern = meta.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value, re.ASCII):
            raise ConfigError(source, path, f"must be {meta['pattern_doc']}, got {value!r}")
        return value
    if tp in (int, float):
        ok = isinstance(value, int) if tp is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise ConfigError(source, path, f"must be {_article(tp)}, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(source, path, f"must be a finite number, got {value}")
        _check_range(value, meta, source, path)
        try:
            return tp(value)
        except OverflowError:  # an integer too large for a float
            raise ConfigError(source, path, "must be a finite number, got a huge integer") from None
    raise TypeError(f"config field {path}: unsupported type {tp!r}")  # a bug in this module


def _check_range(value: float, meta: Any, source: str, path: str) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(source, path, f"must be in {_fmt(lo)}..{_fmt(hi)}, got {value}")


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _article(tp: type) -> str:
    return "an integer" if tp is int else "a number"


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__) + (
        f" ({value!r})" if isinstance(value, int | float | str) else ""
    )


def schema_reference(root: type) -> list[tuple[str, str, str, str]]:
    """Every key of ``root``'s sections as (dotted key, type, TOML default, description)."""
    rows: list[tuple[str, str, str, str]] = []
    hints = typing.get_type_hints(root)
    for section in fields(root):
        cls = hints[section.name]
        sub_hints = typing.get_type_hints(cls)
        for f in fields(cls):
            meta = f.metadata
            bounds = ""
            if meta.get("min") is not None or meta.get("max") is not None:
                bounds = f" [{_fmt(meta.get('min'))}..{_fmt(meta.get('max'))}]"
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            rows.append(
                (
                    f"{section.name}.{f.name}",
                    _type_name(sub_hints[f.name]),
                    _toml_value(default),
                    str(meta.get("doc", "")) + bounds,
                )
            )
    return rows


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return " / ".join(f'"{a}"' for a in args if a != "")
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is tuple:
        inner = ["..." if a is Ellipsis else _type_name(a) for a in args]
        return "[" + ", ".join(inner) + "]"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    return {bool: "bool", int: "int", float: "number", str: "string"}.get(tp, str(tp))


def _toml_value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)
