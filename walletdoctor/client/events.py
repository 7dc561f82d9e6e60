"""The typed events of a wallet stream and its trade objects (DESIGN section 1).

=============  ======================  ==========================================
event          class                   when
=============  ======================  ==========================================
``connected``  :class:`ConnectedEvent`  first on every connection (``resumed`` on a reconnect)
``progress``   :class:`ProgressEvent`   as fetching advances
``trades``     :class:`TradesEvent`     each batch of trades
``heartbeat``  :class:`HeartbeatEvent`  after 10 s without another event (no id)
``complete``   :class:`CompleteEvent`   last, with the wallet's :class:`Summary`
``error``      :class:`ErrorEvent`      a failure; the stream then ends
=============  ======================  ==========================================

Every event but the heartbeat carries its SSE ``id`` (``<stream_id>:<seq>``).
Decimal quantities arrive as JSON strings and are kept as :class:`Decimal`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from walletdoctor.analytics.trade import Side
from walletdoctor.client.errors import ProtocolError, error_code
from walletdoctor.client.fields import (
    json_ready,
    read_bool,
    read_decimal,
    read_float,
    read_int,
    read_optional_decimal,
    read_optional_float,
    read_str,
)
from walletdoctor.client.summary import Summary
from walletdoctor.errors import ErrorCode

__all__ = [
    "CompleteEvent",
    "ConnectedEvent",
    "ErrorEvent",
    "HeartbeatEvent",
    "ProgressEvent",
    "StreamEvent",
    "Trade",
    "TradesEvent",
    "parse_event",
]


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade object: a swap seen from the wallet (amounts in UI units, net of hops).

    ``token_in`` / ``token_out`` are symbols where the server knew them, else
    mints; ``price`` is quote units per token (``None`` for a degenerate
    trade); ``value_usd``, ``pnl_usd`` and ``pnl_sol`` are ``None`` when unknown.
    """

    signature: str
    slot: int
    timestamp: int
    source: str
    side: Side
    token_in: str
    token_out: str
    token_in_mint: str
    token_out_mint: str
    amount_in: Decimal
    amount_out: Decimal
    price: Decimal | None
    value_usd: Decimal | None
    fee_sol: Decimal
    pnl_usd: Decimal | None = None
    pnl_sol: Decimal | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trade:
        """Read a trade object. Raises ``KeyError`` / ``TypeError`` / ``ValueError`` on a missing or mistyped field."""
        return cls(
            signature=read_str(data, "signature"),
            slot=read_int(data, "slot"),
            timestamp=read_int(data, "timestamp"),
            source=read_str(data, "source"),
            side=Side(read_str(data, "side")),
            token_in=read_str(data, "token_in"),
            token_out=read_str(data, "token_out"),
            token_in_mint=read_str(data, "token_in_mint"),
            token_out_mint=read_str(data, "token_out_mint"),
            amount_in=read_decimal(data, "amount_in"),
            amount_out=read_decimal(data, "amount_out"),
            price=read_optional_decimal(data, "price"),
            value_usd=read_optional_decimal(data, "value_usd"),
            fee_sol=read_decimal(data, "fee_sol"),
            pnl_usd=read_optional_decimal(data, "pnl_usd"),
            pnl_sol=read_optional_decimal(data, "pnl_sol"),
        )

    def to_json(self) -> dict[str, Any]:
        """The trade object again, decimals as plain strings (never exponent notation)."""
        document: dict[str, Any] = json_ready(self)
        return document


@dataclass(frozen=True, slots=True)
class ConnectedEvent:
    """First event of every connection. ``resumed`` is true on a reconnect that
    continues the stream; ``timestamp`` is the server's clock, unix seconds."""

    stream_id: str
    wallet: str
    timestamp: float
    resumed: bool
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """How far the fetch is; ``percentage`` is ``None`` until the listing is complete;
    ``timestamp`` is when the server sent it (its clock, unix seconds)."""

    step: str
    message: str
    percentage: float | None
    pages_fetched: int
    transactions_scanned: int
    trades_found: int
    timestamp: float | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class TradesEvent:
    """A batch of trades; ``total_yielded`` counts trades sent so far, this batch included."""

    trades: tuple[Trade, ...]
    batch_num: int
    total_yielded: int
    has_more: bool
    id: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatEvent:
    """Sent when the stream is otherwise quiet; ``timestamp`` is the server's clock, unix seconds."""

    timestamp: float
    id: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteEvent:
    """The last event: ``trades_found`` trades in ``duration`` seconds, and the :class:`Summary`."""

    trades_found: int
    duration: float
    summary: Summary
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """A failure after the stream started; ``retryable`` says whether the same
    request may succeed later. ``error`` is human text, ``details`` extra facts."""

    error: str
    code: ErrorCode | str
    retryable: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


StreamEvent = ConnectedEvent | ProgressEvent | TradesEvent | HeartbeatEvent | CompleteEvent | ErrorEvent


def parse_event(name: str, data: str, event_id: str | None = None) -> StreamEvent | None:
    """The typed event for an SSE event of type ``name`` whose ``data`` is one JSON document.

    Returns ``None`` for an event type this client does not know (a newer
    server's addition), so that it can be skipped.

    Raises:
        ProtocolError: the data is not JSON, or a field is missing or mistyped.
    """
    reader = _PARSERS.get(name)
    if reader is None:
        return None
    try:
        document = orjson.loads(data)
        if not isinstance(document, dict):
            raise TypeError("expected a JSON object")
        return reader(document, event_id)
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ProtocolError(f"malformed {name} event {event_id or ''}: {exc!r}") from exc


def _connected(data: dict[str, Any], event_id: str | None) -> ConnectedEvent:
    return ConnectedEvent(
        stream_id=read_str(data, "stream_id"),
        wallet=read_str(data, "wallet"),
        timestamp=read_float(data, "timestamp"),
        resumed=read_bool(data, "resumed"),
        id=event_id,
    )


def _progress(data: dict[str, Any], event_id: str | None) -> ProgressEvent:
    return ProgressEvent(
        step=read_str(data, "step"),
        message=read_str(data, "message"),
        percentage=read_optional_float(data, "percentage"),
        pages_fetched=read_int(data, "pages_fetched"),
        transactions_scanned=read_int(data, "transactions_scanned"),
        trades_found=read_int(data, "trades_found"),
        timestamp=read_optional_float(data, "timestamp"),
        id=event_id,
    )


def _trades(data: dict[str, Any], event_id: str | None) -> TradesEvent:
    trades = data["trades"]
    if not isinstance(trades, list):
        raise TypeError("trades: expected a list")
    return TradesEvent(
        trades=tuple(Trade.from_json(trade) for trade in trades),
        batch_num=read_int(data, "batch_num"),
        total_yielded=read_int(data, "total_yielded"),
        has_more=read_bool(data, "has_more"),
        id=event_id,
    )


def _heartbeat(data: dict[str, Any], event_id: str | None) -> HeartbeatEvent:
    return HeartbeatEvent(timestamp=read_float(data, "timestamp"), id=event_id)


def _complete(data: dict[str, Any], event_id: str | None) -> CompleteEvent:
    summary = data["summary"]
    if not isinstance(summary, dict):
        raise TypeError("summary: expected an object")
    return CompleteEvent(
        trades_found=read_int(data, "trades_found"),
        duration=read_float(data, "duration"),
        summary=Summary.from_json(summary),
        id=event_id,
    )


def _error(data: dict[str, Any], event_id: str | None) -> ErrorEvent:
    details = data.get("details") or {}
    if not isinstance(details, dict):
        raise TypeError("details: expected an object")
    return ErrorEvent(
        error=read_str(data, "error"),
        code=error_code(read_str(data, "code")),
        retryable=read_bool(data, "retryable"),
        details=details,
        id=event_id,
    )


_PARSERS: dict[str, Callable[[dict[str, Any], str | None], StreamEvent]] = {
    "connected": _connected,
    "progress": _progress,
    "trades": _trades,
    "heartbeat": _heartbeat,
    "complete": _complete,
    "error": _error,
}
