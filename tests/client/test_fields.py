"""Field readers are strict about JSON types; json_ready writes the wire's shapes back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from walletdoctor.analytics.trade import Side
from walletdoctor.client.fields import (
    json_ready,
    read_bool,
    read_decimal,
    read_float,
    read_int,
    read_optional_decimal,
    read_str,
)


def test_decimals_read_from_strings_and_integers_never_floats() -> None:
    assert read_decimal({"a": "0.000000001"}, "a") == Decimal("1E-9")
    assert read_decimal({"a": 5}, "a") == Decimal(5)
    assert read_optional_decimal({"a": None}, "a") is None and read_optional_decimal({}, "a") is None
    with pytest.raises(ValueError):
        read_decimal({"a": "1,5"}, "a")
    bad: object
    for bad in (1.5, True, None, []):
        with pytest.raises(TypeError):
            read_decimal({"a": bad}, "a")


def test_scalars_refuse_lookalikes() -> None:
    with pytest.raises(TypeError):
        read_int({"a": True}, "a")
    with pytest.raises(TypeError):
        read_int({"a": 1.0}, "a")
    with pytest.raises(TypeError):
        read_bool({"a": 1}, "a")
    with pytest.raises(TypeError):
        read_str({"a": 1}, "a")
    with pytest.raises(TypeError):
        read_float({"a": "1"}, "a")
    with pytest.raises(KeyError):
        read_int({}, "a")
    assert read_float({"a": 2}, "a") == 2.0


def test_json_ready_writes_plain_decimals_enums_and_nested_dataclasses() -> None:
    @dataclass
    class Inner:
        amount: Decimal

    @dataclass
    class Outer:
        side: Side
        items: tuple[Inner, ...]
        extra: dict[str, object]

    value = Outer(Side.BUY, (Inner(Decimal("1E-12")),), {"k": Decimal("2.50")})
    assert json_ready(value) == {"side": "buy", "items": [{"amount": "0.000000000001"}], "extra": {"k": "2.50"}}
