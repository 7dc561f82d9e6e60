"""One HTTP connection of a wallet stream: the request, the answer's status, the body's events.

Low-level failures are translated here, at the boundary, into the client's
exceptions (``raise ... from``): aiohttp's ``ClientError`` and ``OSError``
become :class:`ConnectionLost`, silence becomes :class:`StreamStalled`, and an
error status becomes the :class:`RequestRefused` subclass for it, read from
WalletDoctor's JSON error body (DESIGN section 1) and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import orjson

from walletdoctor.client.errors import (
    BadRequest,
    ConnectionLost,
    ProtocolError,
    RateLimited,
    RequestRefused,
    StreamEnded,
    StreamStalled,
    Unauthorized,
    error_code,
)
from walletdoctor.client.parser import EventStreamParser, ServerSentEvent

__all__ = ["open_stream_response", "read_events", "refusal_of"]

#: Largest error body read from a refusal (WalletDoctor's are a few hundred bytes).
_MAX_ERROR_BODY = 64 * 1024
_REFUSALS: dict[int, type[RequestRefused]] = {400: BadRequest, 401: Unauthorized, 429: RateLimited}


async def open_stream_response(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    last_event_id: str | None,
) -> aiohttp.ClientResponse:
    """Send the stream request and return the response once it is ``200 text/event-stream``.

    ``timeout_s`` bounds the connection and the wait for the response headers.
    The caller owns the returned response and must close it.

    Raises:
        ConnectionLost: no connection, a failure before the headers, or no headers within ``timeout_s``.
        StreamEnded: HTTP 204 (WHATWG HTML 9.2.3: the server says stop reconnecting).
        RequestRefused: any other status than 200 (a subclass for 400, 401, 429).
        ProtocolError: 200 with another content type than ``text/event-stream``.
    """
    try:
        async with asyncio.timeout(timeout_s):
            # No total timeout: a stream lasts minutes; silence is judged by read_events.
            response = await session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None))
    except TimeoutError as exc:
        raise ConnectionLost(f"no response within {timeout_s:g} s", last_event_id=last_event_id) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ConnectionLost(f"connection failed: {exc!r}", last_event_id=last_event_id) from exc
    if response.status == 200:
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "text/event-stream":
            response.close()
            raise ProtocolError(f"expected text/event-stream, got {content_type!r}", last_event_id=last_event_id)
        return response
    try:
        if response.status == 204:
            raise StreamEnded("the stream had already ended (HTTP 204)", last_event_id=last_event_id)
        try:
            async with asyncio.timeout(timeout_s):
                body = await response.content.read(_MAX_ERROR_BODY)
        except (TimeoutError, aiohttp.ClientError, OSError):
            body = b""
        raise refusal_of(response.status, body, response.headers, last_event_id=last_event_id)
    finally:
        response.close()


def refusal_of(
    status: int, body: bytes, headers: Mapping[str, str], *, last_event_id: str | None = None
) -> RequestRefused:
    """The exception for an error answer: its class by status, its facts from WalletDoctor's
    ``{"error", "code", "retryable", "details"}`` body when the body is one (else defaults:
    ``retryable`` for 5xx), and ``Retry-After`` in seconds (delay-seconds or HTTP-date)."""
    document: Any = None
    try:
        document = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        document = {}
    code = document.get("code")
    retryable = document.get("retryable")
    details = document.get("details")
    message = document.get("error")
    cls = _REFUSALS.get(status, RequestRefused)
    return cls(
        f"HTTP {status}: {message}" if isinstance(message, str) else f"HTTP {status}",
        status=status,
        code=error_code(code) if isinstance(code, str) else None,
        retryable=retryable if isinstance(retryable, bool) else status >= 500,
        details=details if isinstance(details, dict) else None,
        retry_after_s=_retry_after_s(headers.get("Retry-After")),
        last_event_id=last_event_id,
    )


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` (RFC 9110 section 10.2.3) as seconds from now, ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def read_events(
    response: aiohttp.ClientResponse,
    parser: EventStreamParser,
    *,
    stall_timeout_s: float,
    last_event_id: str | None = None,
) -> AsyncGenerator[ServerSentEvent, None]:
    """The events of ``response``'s body as they arrive; returns at the end of the body.

    ``last_event_id`` only labels the exceptions raised.

    Raises:
        StreamStalled: no byte arrived for ``stall_timeout_s`` seconds.
        ConnectionLost: the connection failed (reset, truncated chunked body ...).
    """
    while True:
        try:
            async with asyncio.timeout(stall_timeout_s):
                chunk = await response.content.readany()
        # TimeoutError is an OSError: it must be told apart first.
        except TimeoutError as exc:
            raise StreamStalled(f"no data for {stall_timeout_s:g} s", last_event_id=last_event_id) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionLost(f"connection lost: {exc!r}", last_event_id=last_event_id) from exc
        if not chunk:
            return
        for event in parser.feed(chunk):
            yield event
