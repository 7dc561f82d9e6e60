"""The SSE writer: one loop per connection that owns every way it can end.

Flows, as timelines::

    normal      prepare -> retry+connected -> [event ...] -> complete/error -> EOF
    quiet       ... nothing for heartbeat_s -> heartbeat -> ...
    disconnect  peer closes -> handler cancelled (handler_cancellation=True)
                or the next write fails -> the caller closes the subscription
    stuck peer  a write that finds data still queued exceeds write_timeout_s
                -> transport aborted; one that finds the queue empty is bounded
                by the kernel (the listening socket's TCP_USER_TIMEOUT)
    behind      the client fell behind what its feed keeps -> error STREAM_EXPIRED -> EOF
    too long    stream_timeout_s reached -> error STREAM_TIMEOUT (resumable) -> EOF
    shutdown    on_shutdown -> the hub interrupts with error SHUTTING_DOWN
                -> written -> EOF (the client reconnects elsewhere and resumes)

The writer never encodes event data: it writes the bytes the feed encoded
once, behind this connection's ``id:`` line.

Response headers (DESIGN section 1): ``Content-Type: text/event-stream``,
``Cache-Control: no-cache``, ``X-Accel-Buffering: no`` (nginx streams it
unbuffered), ``X-Stream-ID``. The response is written directly rather
than through aiohttp-sse: its per-connection ping task duplicates our
heartbeat events (which carry a timestamp and come only when the stream is
quiet) and costs memory and CPU per idle stream (PEER_BENCH A: 17 % more
memory and 49 % more idle CPU than a plain handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import HttpVersion11, web
from aiohttp.client_exceptions import ClientConnectionResetError

from walletdoctor.errors import ErrorCode, StreamFailure
from walletdoctor.sse.event import EncodedEvent, EventName, encode_event, encode_retry
from walletdoctor.streams.feed import FeedEvicted
from walletdoctor.streams.subscription import Subscription

if TYPE_CHECKING:
    from walletdoctor.observability import Metrics

__all__ = ["SSE_HEADERS", "StreamOutcome", "StreamWriterSettings", "write_stream"]

log = logging.getLogger(__name__)

#: Headers of every stream response (plus ``X-Stream-ID``).
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    # Not aiohttp's default, which names the Python and aiohttp versions.
    "Server": "walletdoctor",
}
#: What aiohttp adds to an HTTP/1.1 stream's headers (never to HTTP/1.0's,
#: whose body ends with the connection): given up front, the header table is
#: built once at its final size, and it stays in memory as long as the stream.
_CHUNKED = {"Transfer-Encoding": "chunked"}


class StreamOutcome(str, enum.Enum):
    """How a connection ended, for logs and metrics."""

    COMPLETE = "complete"
    ERROR = "error"
    DISCONNECTED = "disconnected"
    STALLED = "stalled"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class StreamWriterSettings:
    """Timing of the writer loop (see :class:`walletdoctor.config.Settings` for defaults).

    Attributes:
        heartbeat_s: quiet time, seconds, after which a heartbeat is sent.
        retry_ms: the ``retry:`` hint, milliseconds.
        write_timeout_s: longest one write may take before the client is dropped.
        stream_timeout_s: longest one connection may stay open.
    """

    heartbeat_s: float
    retry_ms: int
    write_timeout_s: float
    stream_timeout_s: float


class _EventStreamResponse(web.StreamResponse):
    """A stream response whose headers leave with its first event, in one write.

    aiohttp's ``StreamResponse`` sends its headers on ``prepare()`` and the body
    after, two writes per connection; its ``Response`` holds them back for the
    body. This is the one aiohttp switch (a class attribute of its own,
    ``_send_headers_immediately``) that does the same for a stream. The first
    write follows ``prepare()`` at once (``retry:`` and ``connected``).
    """

    _send_headers_immediately = False


class _PeerGone(Exception):
    """The client went away or stopped reading (internal to this module)."""

    def __init__(self, outcome: StreamOutcome) -> None:
        self.outcome = outcome


async def write_stream(
    request: web.Request,
    subscription: Subscription,
    settings: StreamWriterSettings,
    *,
    headers: Mapping[str, str] = {},
    metrics: Metrics | None = None,
) -> tuple[web.StreamResponse, StreamOutcome]:
    """Serve ``subscription`` as an SSE response until its final event or the connection's end.

    ``headers`` are sent besides :data:`SSE_HEADERS` and ``X-Stream-ID``
    (given here rather than added by a hook, the response's header table is
    built once at its final size: it stays in memory as long as the stream).

    Sends the ``retry:`` hint and ``connected`` at once, then the
    subscription's events, with a heartbeat whenever it is quiet for
    ``heartbeat_s``. The caller closes the subscription afterwards.

    Returns the response and how the connection ended. Re-raises
    ``asyncio.CancelledError`` when the handler itself is cancelled (the
    client left).
    """
    chunked = _CHUNKED if request.version >= HttpVersion11 else {}
    response = _EventStreamResponse(headers={**SSE_HEADERS, **chunked, **headers, "X-Stream-ID": subscription.stream_id})
    try:
        await response.prepare(request)
    except ConnectionResetError:  # gone before the headers went out
        return response, StreamOutcome.DISCONNECTED
    writer = _Writer(request, response, subscription, settings, metrics)
    # The loop is here, not in a method of _Writer: the stack of a quiet
    # stream stays two frames deep (this and Subscription.next), and every
    # frame costs memory for as long as the stream is open.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.stream_timeout_s
    first_pending = metrics is not None
    try:
        await writer.send(encode_retry(settings.retry_ms) + subscription.connected_event().frame(subscription.stream_id), EventName.CONNECTED)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                failure = StreamFailure(ErrorCode.STREAM_TIMEOUT, "the connection reached its maximum duration; reconnect to continue")
                await writer.final(EventName.ERROR, failure.to_json())
                outcome = StreamOutcome.TIMEOUT
                break
            try:
                event = await subscription.next(min(settings.heartbeat_s, remaining))
            except FeedEvicted:
                failure = StreamFailure(ErrorCode.STREAM_EXPIRED, "the client fell too far behind the stream; start a new one")
                await writer.final(EventName.ERROR, failure.to_json())
                outcome = StreamOutcome.STALLED
                break
            if event is None:  # quiet for heartbeat_s (or the deadline came)
                if deadline - loop.time() > 0:
                    await writer.send(encode_event(EventName.HEARTBEAT, {"timestamp": time.time()}).body, EventName.HEARTBEAT)
                continue
            await writer.send(event.frame(subscription.stream_id), event.name)
            if metrics is not None:
                if event.trades:
                    metrics.trades_sent(event.trades)
                if first_pending and (event.name is EventName.TRADES or event.is_final):
                    metrics.first_event(subscription.elapsed_s)
                    first_pending = False
            if event.is_final:
                if subscription.interrupted:
                    outcome = StreamOutcome.SHUTDOWN
                else:
                    outcome = StreamOutcome.COMPLETE if event.name is EventName.COMPLETE else StreamOutcome.ERROR
                break
        with contextlib.suppress(ConnectionResetError, ClientConnectionResetError, RuntimeError):
            await response.write_eof()
    except _PeerGone as gone:
        outcome = gone.outcome
    log.debug("stream %s: connection ended: %s", subscription.stream_id, outcome.value)
    return response, outcome


class _Writer:
    """Writes one connection's frames, each with a deadline when the peer lags."""

    __slots__ = ("_metrics", "_request", "_response", "_settings", "_subscription")

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        subscription: Subscription,
        settings: StreamWriterSettings,
        metrics: Metrics | None,
    ) -> None:
        self._request = request
        self._response = response
        self._subscription = subscription
        self._settings = settings
        self._metrics = metrics

    async def final(self, name: EventName, data: object) -> None:
        """Write a final event of this connection (it repeats the current position)."""
        event: EncodedEvent = self._subscription.final_event(name, data)
        await self.send(event.frame(self._subscription.stream_id), name)

    async def send(self, frame: bytes, name: EventName) -> None:
        """Write ``frame``; raises _PeerGone when the client left or stopped reading."""
        transport = self._request.transport
        try:
            if transport is not None and not transport.get_write_buffer_size():
                # Nothing queued: the peer keeps up, and this write returns at once
                # (or, should it fill every buffer, the listening socket's
                # TCP_USER_TIMEOUT, walletdoctor.server, bounds it).
                # Sparing the deadline here spares every healthy stream a timer.
                await self._response.write(frame)
            else:
                async with asyncio.timeout(self._settings.write_timeout_s):
                    await self._response.write(frame)
        except TimeoutError:
            # A peer that stopped reading never drains; a graceful close would block too.
            if self._request.transport is not None:
                self._request.transport.abort()
            raise _PeerGone(StreamOutcome.STALLED) from None
        except (ConnectionResetError, ClientConnectionResetError, RuntimeError):
            # RuntimeError: aiohttp refuses writes after the connection closed.
            raise _PeerGone(StreamOutcome.DISCONNECTED) from None
        if self._metrics is not None:
            self._metrics.event_sent(name, len(frame))
