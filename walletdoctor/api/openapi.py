"""The OpenAPI 3.1 document of every HTTP endpoint, served at ``GET /openapi.json``.

OpenAPI 3.1 has no type for a Server-Sent Events body, so the stream's
``200`` response is described as ``text/event-stream`` whose schema is one
event (``StreamEvent``: ``event``, ``id``, ``data``) and lists every event
type with its data schema under the ``x-sse-events`` extension; the event
schemas themselves are data in :mod:`walletdoctor.api.schemas`.

The document is built once per application and served as the same bytes.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from walletdoctor import __version__
from walletdoctor.api.schemas import COMPONENT_SCHEMAS, EVENT_DATA_SCHEMAS, ref
from walletdoctor.config import DEFAULT_BATCH_SIZE, DEFAULT_HEARTBEAT_S, MAX_BATCH_SIZE
from walletdoctor.web.page import STATIC_FILES

__all__ = ["OPENAPI_PATH", "add_openapi_route", "build_openapi"]

OPENAPI_PATH = "/openapi.json"

_JSON = "application/json"
_EVENT_DESCRIPTIONS = {
    "connected": "first, at once",
    "progress": "as fetching advances",
    "trades": "each batch of batch_size trades, as soon as it is full (the last may be short)",
    "heartbeat": f"after {DEFAULT_HEARTBEAT_S:g} s (HEARTBEAT_S) without any other event",
    "complete": "last; the server then closes the stream",
    "error": "a failure after the stream started; the server then closes the stream",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {_JSON: {"schema": schema}}


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(ref("ErrorBody"))}
    if retry_after:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


_WALLET_PARAMETERS = [
    {"$ref": "#/components/parameters/Address"},
    {"$ref": "#/components/parameters/Since"},
    {"$ref": "#/components/parameters/Until"},
    {"$ref": "#/components/parameters/Order"},
]

#: Keys are optional in development and required in production (ENV=production).
_WALLET_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}]

_WALLET_ERRORS = {
    "400": _error("INVALID_ADDRESS or INVALID_REQUEST (a query parameter, named in details.parameter)"),
    "401": {
        **_error("UNAUTHORIZED: no API key where one is required, or an unknown key"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "429": _error("RATE_LIMIT (requests per minute) or TOO_MANY_STREAMS (concurrent streams per key)", retry_after=True),
    "500": _error("INTERNAL_ERROR (no internals in the body)"),
    "503": _error("SHUTTING_DOWN, or UPSTREAM_UNAVAILABLE (the shared limit store is down)", retry_after=True),
}


def _stream_operation() -> dict[str, Any]:
    events = {
        name: {"description": _EVENT_DESCRIPTIONS[name], "data": ref(f"{name.capitalize()}Event")}
        for name in EVENT_DATA_SCHEMAS
    }
    return {
        "operationId": "streamWallet",
        "summary": "Stream a wallet's trades and P&L as Server-Sent Events",
        "description": (
            "Events in order: connected, progress and trades as fetching advances (heartbeat when quiet), "
            "then complete or error. UTF-8, `\\n` line ends, a `retry:` hint first, one JSON document per "
            "`data:` line, `id: <stream_id>:<seq>` on every event but heartbeats. A reconnect with "
            "Last-Event-ID gets every event after that one and none before it; see docs/stream-contract.md."
        ),
        "tags": ["wallet"],
        "parameters": [
            *_WALLET_PARAMETERS,
            {
                "name": "batch_size",
                "in": "query",
                "description": "trades per trades event",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE, "default": DEFAULT_BATCH_SIZE},
            },
            {
                "name": "Last-Event-ID",
                "in": "header",
                "description": "resume after this event, <stream_id>:<seq> (sent by EventSource on its own when it reconnects)",
                "schema": {"type": "string"},
            },
            {
                "name": "last_event_id",
                "in": "query",
                "description": "the same as Last-Event-ID, for clients that cannot set headers",
                "schema": {"type": "string"},
            },
        ],
        "security": _WALLET_SECURITY,
        "responses": {
            "200": {
                "description": "the stream",
                "headers": {
                    "X-Stream-ID": {"schema": {"type": "string", "format": "uuid"}},
                    "X-Accel-Buffering": {"schema": {"const": "no"}},
                    "Cache-Control": {"schema": {"const": "no-cache"}},
                },
                "content": {"text/event-stream": {"schema": ref("StreamEvent"), "x-sse-events": events}},
            },
            "204": {"description": "a reconnect after the stream's final event: nothing more to send (EventSource stops)"},
            **_WALLET_ERRORS,
        },
    }


def _summary_operation() -> dict[str, Any]:
    return {
        "operationId": "walletSummary",
        "summary": "The complete event's summary as one JSON document",
        "description": "Runs the stream's pipeline to its end; takes as long as the wallet's history takes to fetch.",
        "tags": ["wallet"],
        "parameters": _WALLET_PARAMETERS,
        "security": _WALLET_SECURITY,
        "responses": {
            "200": {"description": "the summary", "content": _json(ref("WalletSummary"))},
            **_WALLET_ERRORS,
            "503": _error(
                "UPSTREAM_UNAVAILABLE (Helius failing after retries, or the shared limit store down) or SHUTTING_DOWN",
                retry_after=True,
            ),
            "504": _error("STREAM_TIMEOUT: the history took longer than STREAM_TIMEOUT"),
        },
    }


def _plain_get(operation_id: str, summary: str, responses: dict[str, Any], tag: str = "operations") -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}}


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    wallet_path = "/v4/wallet/{address}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WalletDoctor",
            "version": __version__,
            "summary": "A Solana wallet's trades and P&L, streamed over Server-Sent Events while they are fetched.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "wallet", "description": "a wallet's trades and P&L"},
            {"name": "operations", "description": "health, readiness, metrics, this document"},
            {"name": "page", "description": "the live page"},
        ],
        "paths": {
            f"{wallet_path}/stream": {"get": _stream_operation()},
            f"{wallet_path}/summary": {"get": _summary_operation()},
            "/health": _plain_get(
                "health", "Liveness: 200 while the process serves requests", {"200": {"description": "alive", "content": _json(ref("Health"))}}
            ),
            "/ready": _plain_get(
                "ready",
                "Readiness: 200 when Redis (if configured) and the upstream are usable",
                {
                    "200": {"description": "ready", "content": _json(ref("Readiness"))},
                    "503": {"description": "not ready", "content": _json(ref("Readiness"))},
                },
            ),
            "/metrics": _plain_get(
                "metrics",
                "Prometheus metrics (OpenMetrics when the Accept header asks for it)",
                {
                    "200": {
                        "description": "metrics",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "application/openmetrics-text": {"schema": {"type": "string"}},
                        },
                    }
                },
            ),
            OPENAPI_PATH: _plain_get(
                "openapi", "This document", {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}}
            ),
            "/": _plain_get(
                "livePage",
                "The live page: a wallet's trades and realized P&L as they stream",
                {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}},
                tag="page",
            ),
            "/static/{filename}": {
                "get": {
                    "operationId": "staticFile",
                    "summary": "The live page's script, stylesheet and icon",
                    "tags": ["page"],
                    "parameters": [
                        {
                            "name": "filename",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "examples": sorted(STATIC_FILES)},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the file",
                            "content": {
                                "text/javascript": {"schema": {"type": "string"}},
                                "text/css": {"schema": {"type": "string"}},
                                "image/svg+xml": {"schema": {"type": "string"}},
                            },
                        },
                        "404": _error("not one of the page's files"),
                    },
                }
            },
        },
        "components": {
            "schemas": COMPONENT_SCHEMAS,
            "parameters": {
                "Address": {
                    "name": "address",
                    "in": "path",
                    "required": True,
                    "description": "the wallet, a base58 Solana public key; anything else is refused with 400 INVALID_ADDRESS",
                    "schema": ref("Address"),
                },
                "Since": {
                    "name": "since",
                    "in": "query",
                    "description": "oldest block time included, unix seconds",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "Until": {
                    "name": "until",
                    "in": "query",
                    "description": "newest block time included, unix seconds (not before since)",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "Order": {
                    "name": "order",
                    "in": "query",
                    "description": "desc: newest first; asc: oldest first, with each sale's realized P&L as it streams",
                    "schema": {"enum": ["desc", "asc"], "default": "desc"},
                },
            },
            "headers": {
                "RetryAfter": {"description": "seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer wd_..."},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "apiKeyQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_key",
                    "description": "for browsers' EventSource, which cannot set headers",
                },
            },
        },
    }


def add_openapi_route(app: web.Application) -> None:
    """Serve :func:`build_openapi`'s document at :data:`OPENAPI_PATH`, encoded once."""
    body = orjson.dumps(build_openapi())

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=_JSON, headers={"Cache-Control": "no-cache"})

    app.router.add_get(OPENAPI_PATH, openapi_document, name="openapi")
