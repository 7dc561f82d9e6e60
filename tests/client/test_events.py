"""Typed events from the stream's JSON data: decimals kept exact, malformed data refused."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from tests.client.resumable_server import make_trade
from walletdoctor.analytics.trade import Side
from walletdoctor.client.errors import ProtocolError
from walletdoctor.client.events import (
    CompleteEvent,
    ConnectedEvent,
    ErrorEvent,
    HeartbeatEvent,
    ProgressEvent,
    Trade,
    TradesEvent,
    parse_event,
)
from walletdoctor.errors import ErrorCode


def test_trades_keep_decimal_strings_exact() -> None:
    wire = make_trade(1) | {"value_usd": "11.4900000000000001", "pnl_usd": "-0.000000000000000001"}
    data = {"trades": [wire], "batch_num": 1, "total_yielded": 1, "has_more": False}
    event = parse_event("trades", orjson.dumps(data).decode(), "s:3")
    assert isinstance(event, TradesEvent) and event.id == "s:3"
    (trade,) = event.trades
    assert trade.side is Side.SELL
    assert trade.price == Decimal("0.0000000391863883788551605")
    assert trade.value_usd == Decimal("11.4900000000000001")
    assert trade.pnl_usd == Decimal("-1E-18") and trade.pnl_sol is None
    assert trade.to_json() == wire, "decimals go back out as plain text, never 1E-18"


def test_a_trade_without_the_newer_pnl_sol_field_reads() -> None:
    wire = make_trade(2)
    del wire["pnl_sol"]
    assert Trade.from_json(wire).pnl_sol is None


def test_each_event_type() -> None:
    connected = parse_event("connected", '{"stream_id":"s","wallet":"w","timestamp":1.5,"resumed":true}', "s:4")
    assert connected == ConnectedEvent("s", "w", 1.5, True, "s:4")
    progress = parse_event(
        "progress",
        '{"timestamp":2.5,"step":"fetching","message":"m","percentage":null,"pages_fetched":1,"transactions_scanned":100,"trades_found":3}',
        "s:2",
    )
    assert progress == ProgressEvent("fetching", "m", None, 1, 100, 3, 2.5, "s:2")
    assert parse_event("heartbeat", '{"timestamp":7}') == HeartbeatEvent(7.0)
    complete = parse_event("complete", '{"trades_found":2,"duration":0.5,"summary":{"trades_found":2}}', "s:9")
    assert isinstance(complete, CompleteEvent) and complete.summary.trades_found == 2
    error = parse_event("error", '{"error":"gone","code":"STREAM_EXPIRED","retryable":false,"details":{"a":1}}')
    assert error == ErrorEvent("gone", ErrorCode.STREAM_EXPIRED, False, {"a": 1})


def test_an_unknown_error_code_is_kept_as_text() -> None:
    error = parse_event("error", '{"error":"x","code":"SOMETHING_NEW","retryable":true}')
    assert isinstance(error, ErrorEvent) and error.code == "SOMETHING_NEW" and error.details == {}


def test_an_unknown_event_type_is_skipped() -> None:
    assert parse_event("message", "{}") is None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("connected", "not json"),
        ("connected", "[]"),
        ("connected", '{"stream_id":"s","wallet":"w","timestamp":1}'),
        ("heartbeat", '{"timestamp":"soon"}'),
        ("trades", '{"trades":{},"batch_num":1,"total_yielded":1,"has_more":false}'),
        ("trades", orjson.dumps({"trades": [make_trade(1) | {"amount_in": 1.5}], "batch_num": 1,
                                  "total_yielded": 1, "has_more": False}).decode()),
        ("trades", orjson.dumps({"trades": [make_trade(1) | {"side": "hold"}], "batch_num": 1,
                                  "total_yielded": 1, "has_more": False}).decode()),
        ("trades", orjson.dumps({"trades": [make_trade(1) | {"fee_sol": "abc"}], "batch_num": 1,
                                  "total_yielded": 1, "has_more": False}).decode()),
        ("complete", '{"trades_found":1,"duration":1,"summary":[]}'),
        ("error", '{"error":"x","code":"INTERNAL_ERROR","retryable":"no"}'),
    ],
)
def test_malformed_data_is_a_protocol_error(name: str, data: str) -> None:
    with pytest.raises(ProtocolError):
        parse_event(name, data, "s:1")
