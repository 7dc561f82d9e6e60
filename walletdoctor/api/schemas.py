"""JSON Schemas (draft 2020-12, the OpenAPI 3.1 dialect) of everything WalletDoctor sends.

The stream's event data (DESIGN section 1; ``streams/pipeline.py``,
``analytics/trade.py`` ``Trade.to_wire``, ``analytics/summary.py``), the
JSON bodies of the other endpoints, and the error body. Enumerations are
taken from the code's own enums, so the documents cannot drift from them.

Decimals are JSON strings of plain decimal text (``analytics.trade.decimal_text``):
no exponent, so that no precision is lost on the way. Event data objects
are closed (``additionalProperties: false``): a field added to an event
must be added here too, which the contract tests then check.

:data:`COMPONENT_SCHEMAS` is the ``components.schemas`` of the OpenAPI
document; references between schemas are ``#/components/schemas/<Name>``.
"""

from __future__ import annotations

from typing import Any

from walletdoctor.analytics.pnl import CostBasisMethod
from walletdoctor.analytics.trade import Side
from walletdoctor.config import MAX_BATCH_SIZE
from walletdoctor.errors import ErrorCode
from walletdoctor.sse.event import EventName

__all__ = ["COMPONENT_SCHEMAS", "EVENT_DATA_SCHEMAS", "HTTP_ONLY_ERROR_CODES", "ref"]

#: Codes the error middleware gives aiohttp's own HTTP errors (``api/errors.py``).
HTTP_ONLY_ERROR_CODES = ("NOT_FOUND", "METHOD_NOT_ALLOWED", "HTTP_ERROR")


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _closed(properties: dict[str, Any], *, description: str = "") -> dict[str, Any]:
    """An object with exactly ``properties``, all of them required."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


_COUNT = {"type": "integer", "minimum": 0}
_UNIX_SECONDS = {"type": "integer", "minimum": 0, "description": "unix seconds (block time)"}
_SERVER_CLOCK = {"type": "number", "description": "the server's clock when it built the event, unix seconds"}
_DECIMAL = ref("Decimal")
_NULLABLE_DECIMAL = _nullable(ref("Decimal"))
_NULLABLE_TIME = _nullable(_UNIX_SECONDS)

_TRADE = _closed(
    {
        "signature": {"type": "string", "description": "transaction signature, base58"},
        "slot": _COUNT,
        "timestamp": _UNIX_SECONDS,
        "source": {"type": "string", "description": "the DEX or program, as Helius names it (RAYDIUM, PUMP_AMM ...)"},
        "side": {
            "enum": [side.value for side in Side],
            "description": "buy / sell against the quote asset (SOL or a USD stablecoin); swap when neither leg is one",
        },
        "token_in": {"type": "string", "description": "symbol of the token given, else its mint"},
        "token_out": {"type": "string", "description": "symbol of the token got, else its mint"},
        "token_in_mint": ref("Address"),
        "token_out_mint": ref("Address"),
        "amount_in": _DECIMAL,
        "amount_out": _DECIMAL,
        "price": _NULLABLE_DECIMAL,
        "value_usd": _NULLABLE_DECIMAL,
        "fee_sol": _DECIMAL,
        "pnl_usd": _NULLABLE_DECIMAL,
        "pnl_sol": _NULLABLE_DECIMAL,
    },
    description=(
        "One trade from the wallet's own point of view, UI units, net of hops. price: quote per token "
        "(for a swap, token_in per token_out), null for a degenerate trade. pnl_usd / pnl_sol: realized "
        "P&L of a sale, null until known (streams in order=asc know it as they go)."
    ),
)

_TOKEN_STATS = _closed(
    {
        "mint": ref("Address"),
        "symbol": _nullable({"type": "string"}),
        "buys": _COUNT,
        "sells": _COUNT,
        "volume_usd": _DECIMAL,
        "realized_pnl_usd": _NULLABLE_DECIMAL,
        "realized_pnl_sol": _NULLABLE_DECIMAL,
        "roi": _NULLABLE_DECIMAL,
        "roi_sol": _NULLABLE_DECIMAL,
        "first_trade_at": _NULLABLE_TIME,
        "last_trade_at": _NULLABLE_TIME,
        "first_buy_at": _NULLABLE_TIME,
        "last_sell_at": _NULLABLE_TIME,
        "holding_time_s": _nullable({"type": "integer", "minimum": 0}),
        "open_amount": _DECIMAL,
        "open_cost_basis_usd": _NULLABLE_DECIMAL,
        "open_cost_basis_sol": _NULLABLE_DECIMAL,
        "unmatched_sell_amount": _DECIMAL,
    },
    description="One token's trading: counts, volume, realized P&L and ROI (a ratio: 0.5 is +50 %), open position.",
)

_SUMMARY = _closed(
    {
        "trades_found": _COUNT,
        "priced_trades": _COUNT,
        "total_volume_usd": _DECIMAL,
        "total_fees_sol": _DECIMAL,
        "realized_pnl_usd": _NULLABLE_DECIMAL,
        "realized_pnl_sol": _NULLABLE_DECIMAL,
        "sales": _COUNT,
        "sales_with_pnl_usd": _COUNT,
        "sales_with_pnl_sol": _COUNT,
        "win_rate": _NULLABLE_DECIMAL,
        "token_win_rate": _NULLABLE_DECIMAL,
        "buys": _COUNT,
        "sells": _COUNT,
        "swaps": _COUNT,
        "tokens_traded": _COUNT,
        "first_trade_at": _NULLABLE_TIME,
        "last_trade_at": _NULLABLE_TIME,
        "cost_basis_method": {"enum": [method.value for method in CostBasisMethod]},
        "tokens": {"type": "array", "items": ref("TokenStats")},
        "transactions_scanned": _COUNT,
        "transactions_missing": _COUNT,
    },
    description="The wallet's totals and per-token stats, realized P&L by FIFO cost basis (analytics/summary.py).",
)

_ERROR_BODY = _closed(
    {
        "error": {"type": "string", "description": "human text, safe to show"},
        "code": {"enum": [code.value for code in ErrorCode] + list(HTTP_ONLY_ERROR_CODES)},
        "retryable": {"type": "boolean"},
        "details": {"type": "object"},
    },
    description="Every error: an HTTP response's JSON body before a stream starts, an `error` event's data after.",
)

#: The data of each stream event, by event name.
EVENT_DATA_SCHEMAS: dict[str, dict[str, Any]] = {
    EventName.CONNECTED.value: _closed(
        {
            "stream_id": {"type": "string", "format": "uuid"},
            "wallet": ref("Address"),
            "timestamp": _SERVER_CLOCK,
            "resumed": {"type": "boolean", "description": "true when this connection resumes after Last-Event-ID"},
        }
    ),
    EventName.PROGRESS.value: _closed(
        {
            "step": {"type": "string", "description": "what the server is doing (fetching)"},
            "message": {"type": "string"},
            "percentage": _nullable({"type": "number", "minimum": 0, "maximum": 100}),
            "pages_fetched": _COUNT,
            "transactions_scanned": _COUNT,
            "trades_found": _COUNT,
            "timestamp": _SERVER_CLOCK,
        },
        description="percentage is null until the signature listing is complete.",
    ),
    EventName.TRADES.value: _closed(
        {
            "trades": {"type": "array", "items": ref("Trade"), "maxItems": MAX_BATCH_SIZE},
            "batch_num": {"type": "integer", "minimum": 1},
            "total_yielded": _COUNT,
            "has_more": {"type": "boolean"},
        }
    ),
    EventName.HEARTBEAT.value: _closed({"timestamp": _SERVER_CLOCK}),
    EventName.COMPLETE.value: _closed(
        {"trades_found": _COUNT, "duration": {"type": "number", "minimum": 0, "description": "seconds"}, "summary": ref("Summary")}
    ),
    EventName.ERROR.value: {
        "allOf": [ref("ErrorBody")],
        "properties": {"code": {"enum": [code.value for code in ErrorCode]}},
    },
}

_EVENT_ID = {
    "type": "string",
    "pattern": "^[0-9a-f-]{36}:[1-9][0-9]*$",
    "description": "<stream_id>:<seq>, seq strictly increasing; what a reconnect sends as Last-Event-ID",
}


def _event_schema_name(event: str) -> str:
    return f"{event.capitalize()}Event"


def _envelope(event: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"event": {"const": event}, "data": ref(_event_schema_name(event))}
    if event == EventName.HEARTBEAT.value:
        return _closed(properties, description="Heartbeats carry no id, so they never move Last-Event-ID.")
    return _closed({**properties, "id": _EVENT_ID})


COMPONENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "Decimal": {
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        "description": "a decimal number as plain text (no exponent), so that no precision is lost",
        "examples": ["0.077849895", "-12.5"],
    },
    "Address": {
        "type": "string",
        "pattern": "^[1-9A-HJ-NP-Za-km-z]{32,44}$",
        "description": "a Solana public key (32 bytes), base58",
    },
    "Trade": _TRADE,
    "TokenStats": _TOKEN_STATS,
    "Summary": _SUMMARY,
    "ErrorBody": _ERROR_BODY,
    **{_event_schema_name(name): schema for name, schema in EVENT_DATA_SCHEMAS.items()},
    "StreamEvent": {
        "description": (
            "One Server-Sent Event of the stream, as a client's SSE parser gives it: its event field, "
            "its id field, and its single data line parsed as JSON."
        ),
        "oneOf": [ref(f"{_event_schema_name(name)}Envelope") for name in EVENT_DATA_SCHEMAS],
    },
    **{f"{_event_schema_name(name)}Envelope": _envelope(name) for name in EVENT_DATA_SCHEMAS},
    "WalletSummary": _closed(
        {
            "wallet": ref("Address"),
            "trades_found": _COUNT,
            "duration": {"type": "number", "minimum": 0, "description": "seconds"},
            "summary": ref("Summary"),
        }
    ),
    "RedisState": {
        "type": "object",
        "properties": {
            "state": {"enum": ["ok", "down", "not configured"]},
            "latency_ms": {"type": "number", "minimum": 0},
            "error": {"type": "string"},
        },
        "required": ["state"],
        "additionalProperties": False,
    },
    "UpstreamState": _closed(
        {
            "state": {"enum": ["ok", "down"]},
            "mode": {"type": "string", "description": "helius or embedded emulator"},
            "breaker": _nullable({"type": "string"}),
        }
    ),
    "Health": _closed(
        {
            "status": {"const": "ok"},
            "version": {"type": "string"},
            "uptime_s": {"type": "number", "minimum": 0},
            "active_streams": _COUNT,
            "dependencies": _closed({"redis": ref("RedisState"), "upstream": ref("UpstreamState")}),
        }
    ),
    "Readiness": _closed(
        {
            "status": {"enum": ["ready", "not ready"]},
            "active_streams": _COUNT,
            "redis": ref("RedisState"),
            "upstream": ref("UpstreamState"),
        }
    ),
}
