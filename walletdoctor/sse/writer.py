"""The SSE writer: one loop per stream that owns every way the stream can end.

Flows, as timelines::

    normal      prepare -> retry+connected -> [event ...] -> complete/error -> EOF
    quiet       ... queue empty for heartbeat_s -> heartbeat -> ...
    disconnect  peer closes -> handler cancelled (handler_cancellation=True)
                or the next write fails -> pipeline cancelled and awaited
    stuck peer  a write exceeds write_timeout_s -> transport aborted -> pipeline cancelled
    too long    stream_timeout_s reached -> error STREAM_TIMEOUT -> EOF
    shutdown    on_shutdown -> registry puts error SHUTTING_DOWN ahead of the queue
                -> written -> EOF (the client reconnects elsewhere)

The writer never encodes: it writes the bytes the pipeline encoded once.
Headers come from aiohttp-sse (``Content-Type: text/event-stream``,
``Cache-Control: no-cache``, ``X-Accel-Buffering: no``) plus ``X-Stream-ID``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError
from aiohttp_sse import sse_response

from walletdoctor.errors import ErrorCode, StreamFailure
from walletdoctor.sse.event import EncodedEvent, EventName, encode_retry
from walletdoctor.streams.session import StreamSession

if TYPE_CHECKING:
    from walletdoctor.observability import Metrics

__all__ = ["StreamOutcome", "StreamWriterSettings", "write_stream"]

log = logging.getLogger(__name__)


class StreamOutcome(str, enum.Enum):
    """How a stream ended, for logs and metrics."""

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
        stream_timeout_s: longest a stream may stay open.
    """

    heartbeat_s: float
    retry_ms: int
    write_timeout_s: float
    stream_timeout_s: float


class _PeerGone(Exception):
    """The client went away or stopped reading (internal to this module)."""

    def __init__(self, outcome: StreamOutcome) -> None:
        self.outcome = outcome


async def write_stream(
    request: web.Request,
    session: StreamSession,
    pipeline: Coroutine[Any, Any, None],
    settings: StreamWriterSettings,
    *,
    metrics: Metrics | None = None,
) -> tuple[web.StreamResponse, StreamOutcome]:
    """Serve ``session`` as an SSE response, running ``pipeline`` as its producer task.

    Sends the ``retry:`` hint and ``connected`` at once, then drains the
    session's queue until a final event, a disconnect, a stuck peer or the
    stream timeout. The pipeline task is always cancelled and awaited
    before this returns or raises.

    Returns the response and how the stream ended. Re-raises
    ``asyncio.CancelledError`` when the handler itself is cancelled.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.stream_timeout_s
    async with sse_response(
        request,
        headers={"X-Stream-ID": session.stream_id},
        send_timeout=settings.write_timeout_s,
        ping_interval=settings.heartbeat_s,
    ) as response:
        producer = asyncio.create_task(pipeline, name=f"stream-pipeline:{session.stream_id}")
        outcome = StreamOutcome.DISCONNECTED
        try:
            first = encode_retry(settings.retry_ms) + session.connected_event().frame
            await _write(request, response, first, settings, EventName.CONNECTED, metrics)
            outcome = await _drain(request, response, session, settings, deadline, loop, metrics)
            await response.write_eof()
        except _PeerGone as gone:
            outcome = gone.outcome
        finally:
            producer.cancel()
            await asyncio.wait([producer])
            log.debug("stream %s ended: %s", session.stream_id, outcome.value)
    return response, outcome


async def _drain(
    request: web.Request,
    response: web.StreamResponse,
    session: StreamSession,
    settings: StreamWriterSettings,
    deadline: float,
    loop: asyncio.AbstractEventLoop,
    metrics: Metrics | None,
) -> StreamOutcome:
    first_pending = metrics is not None
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            failure = StreamFailure(ErrorCode.STREAM_TIMEOUT, "the stream reached its maximum duration")
            await _write(request, response, session.event(EventName.ERROR, failure.to_json()).frame, settings, EventName.ERROR, metrics)
            return StreamOutcome.TIMEOUT
        event: EncodedEvent | None
        try:
            async with asyncio.timeout(min(settings.heartbeat_s, remaining)):
                event = await session.queue.get()
        except TimeoutError:
            event = None
        if event is None:
            if deadline - loop.time() > 0:
                await _write(request, response, session.heartbeat_event().frame, settings, EventName.HEARTBEAT, metrics)
            continue
        await _write(request, response, event.frame, settings, event.name, metrics)
        if metrics is not None:
            if event.trades:
                metrics.trades_sent(event.trades)
            if first_pending and (event.name is EventName.TRADES or event.is_final):
                metrics.first_event(session.elapsed_s)
                first_pending = False
        if event.is_final:
            if session.interrupted:
                return StreamOutcome.SHUTDOWN
            return StreamOutcome.COMPLETE if event.name is EventName.COMPLETE else StreamOutcome.ERROR


async def _write(
    request: web.Request,
    response: web.StreamResponse,
    frame: bytes,
    settings: StreamWriterSettings,
    name: EventName,
    metrics: Metrics | None,
) -> None:
    try:
        async with asyncio.timeout(settings.write_timeout_s):
            await response.write(frame)
    except TimeoutError:
        # A peer that stopped reading never drains; a graceful close would block too.
        if request.transport is not None:
            request.transport.abort()
        raise _PeerGone(StreamOutcome.STALLED) from None
    except (ConnectionResetError, ClientConnectionResetError, RuntimeError):
        # RuntimeError: aiohttp refuses writes after the connection closed.
        raise _PeerGone(StreamOutcome.DISCONNECTED) from None
    if metrics is not None:
        metrics.event_sent(name, len(frame))
