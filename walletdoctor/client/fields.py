"""Readers of the typed fields of an event's JSON data, strict about types.

Decimal quantities travel as JSON strings so that no precision is lost
(DESIGN section 1, the trade object); they are read into :class:`Decimal`,
never through ``float``. Each reader raises ``KeyError`` for a missing
required key, ``TypeError`` for a value of the wrong JSON type and
``ValueError`` for a string that is not a decimal; the event parser turns
each into :class:`~walletdoctor.client.errors.ProtocolError`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "json_ready",
    "read_bool",
    "read_decimal",
    "read_float",
    "read_int",
    "read_optional_decimal",
    "read_optional_float",
    "read_optional_int",
    "read_optional_str",
    "read_str",
]


def read_decimal(data: Mapping[str, Any], key: str) -> Decimal:
    """``data[key]``, a decimal string (or a JSON integer), as a ``Decimal``."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{key}: expected a decimal string, got {type(value).__name__}")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{key}: not a decimal: {value!r}") from None


def read_optional_decimal(data: Mapping[str, Any], key: str) -> Decimal | None:
    """Like :func:`read_decimal`; ``None`` when the key is absent or null."""
    return None if data.get(key) is None else read_decimal(data, key)


def read_int(data: Mapping[str, Any], key: str) -> int:
    """``data[key]``, a JSON integer."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key}: expected an integer, got {type(value).__name__}")
    return value


def read_optional_int(data: Mapping[str, Any], key: str) -> int | None:
    """Like :func:`read_int`; ``None`` when the key is absent or null."""
    return None if data.get(key) is None else read_int(data, key)


def read_float(data: Mapping[str, Any], key: str) -> float:
    """``data[key]``, a JSON number (seconds, percentages)."""
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{key}: expected a number, got {type(value).__name__}")
    return float(value)


def read_optional_float(data: Mapping[str, Any], key: str) -> float | None:
    """Like :func:`read_float`; ``None`` when the key is absent or null."""
    return None if data.get(key) is None else read_float(data, key)


def read_str(data: Mapping[str, Any], key: str) -> str:
    """``data[key]``, a JSON string."""
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def read_optional_str(data: Mapping[str, Any], key: str) -> str | None:
    """Like :func:`read_str`; ``None`` when the key is absent or null."""
    return None if data.get(key) is None else read_str(data, key)


def read_bool(data: Mapping[str, Any], key: str) -> bool:
    """``data[key]``, a JSON boolean."""
    value = data[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key}: expected a boolean, got {type(value).__name__}")
    return value


def json_ready(value: Any) -> Any:
    """``value`` in the wire's JSON shapes: ``Decimal`` as plain text (no exponent), enums as
    their value, dataclasses as dicts, tuples as lists, recursively (orjson does the rest)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_ready(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, Mapping):
        return {key: json_ready(item) for key, item in value.items()}
    return value
