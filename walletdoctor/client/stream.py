"""Reading a wallet stream to its end, across cut connections: the client's one loop.

::

    async with WalletStream("http://localhost:8080", address) as stream:
        async for event in stream:          # ConnectedEvent, ProgressEvent, TradesEvent ...
            ...
    stream.complete.summary                 # after a CompleteEvent

The loop owns every way a connection ends (the server's resume contract,
DESIGN section 1 and issue 5):

==============================================  =============================================
what happens                                    what the client does
==============================================  =============================================
``complete``                                    yields it, stops
the body ends before a final event              reconnects with ``Last-Event-ID``
a reset, no connection, 5xx, no response        reconnects (:class:`ConnectionLost`)
no byte for ``stall_timeout_s`` (30 s)          reconnects (:class:`StreamStalled`)
``error`` SHUTTING_DOWN                         reconnects (:class:`ServerShuttingDown`)
``error`` STREAM_TIMEOUT repeating the last id  reconnects (:class:`ConnectionTimedOut`)
429 to a *reconnect*                            reconnects after ``Retry-After``
``error`` STREAM_EXPIRED, or a reconnect        raises :class:`StreamExpired`
answered ``connected`` with ``resumed: false``
any other ``error`` (UPSTREAM_UNAVAILABLE ...)  raises :class:`StreamFailed`
400 / 401 / 429 to the first request, other     raises :class:`BadRequest` / :class:`Unauthorized`
4xx                                             / :class:`RateLimited` / :class:`RequestRefused`
204                                             raises :class:`StreamEnded`
``max_attempts`` reconnects without progress    raises :class:`ReconnectsExhausted`
==============================================  =============================================

A 429 to the first request is the caller's to handle (it asked too often,
as a browser ``EventSource`` gives up too); a 429 to a reconnect is part of
recovering a stream already under way (a slot may still be held for the
connection just lost), so it is retried within the same bound.

Before each reconnect the client waits :meth:`Backoff.delay` (1, 2, 4, 5 s
with jitter, never less than the server's ``retry:`` or ``Retry-After``).
Progress is a new event: it resets the attempt count.

No event is delivered twice: each event id ``<stream_id>:<seq>`` must be
beyond the last delivered one, or the event is dropped (and counted in
:attr:`WalletStream.duplicates_dropped`). A resumed connection's
``connected`` repeats the ``Last-Event-ID`` sent: it is delivered (with
``resumed`` true, so callers see the reconnect) but does not move the
position.

An ``error`` event that repeats the last delivered id ends only its
connection; one with a new id ends the stream (the server keeps it as the
stream's final event). So SHUTTING_DOWN and STREAM_TIMEOUT (retryable)
reconnect when they repeat the id, and are raised as :class:`StreamFailed`
when they come with a new one; every other code is raised either way
(UPSTREAM_UNAVAILABLE is retryable as a new stream, not as a resume).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlencode

import aiohttp

from walletdoctor.client.backoff import Backoff
from walletdoctor.client.connection import open_stream_response, read_events
from walletdoctor.client.errors import (
    ConnectionFailure,
    ConnectionLost,
    ConnectionTimedOut,
    ProtocolError,
    ReconnectsExhausted,
    RequestRefused,
    ServerShuttingDown,
    StreamClientError,
    StreamExpired,
    StreamFailed,
)
from walletdoctor.client.events import (
    CompleteEvent,
    ConnectedEvent,
    ErrorEvent,
    HeartbeatEvent,
    StreamEvent,
    parse_event,
)
from walletdoctor.client.parser import EventStreamParser, ServerSentEvent
from walletdoctor.errors import ErrorCode

__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "DEFAULT_STALL_TIMEOUT_S", "Reconnect", "WalletStream"]

#: Three missed heartbeats (the server sends one after 10 s of quiet).
DEFAULT_STALL_TIMEOUT_S = 30.0
#: Connection plus response headers; the server answers at once, before fetching anything.
DEFAULT_CONNECT_TIMEOUT_S = 10.0
#: Codes of an ``error`` event that, repeating the last delivered id, end one connection only.
_CONNECTION_ENDS = frozenset({ErrorCode.SHUTTING_DOWN, ErrorCode.STREAM_TIMEOUT})


@dataclass(slots=True)
class Reconnect:
    """One interruption of the stream and how it was recovered (times on the stream's clock, seconds).

    Attributes:
        lost_at: when the connection failed.
        causes: the failure of the connection, then of each attempt that failed.
        delays: the wait before each attempt.
        resumed_at: when the first event of the new connection arrived, ``None`` until then.
    """

    lost_at: float
    causes: list[StreamClientError] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    resumed_at: float | None = None

    @property
    def attempts(self) -> int:
        """Reconnect attempts made."""
        return len(self.delays)

    @property
    def duration_s(self) -> float | None:
        """Seconds from the loss to the first event of the new connection, ``None`` if not back."""
        return None if self.resumed_at is None else self.resumed_at - self.lost_at


class WalletStream:
    """The events of ``GET {url}/v4/wallet/{address}/stream``, read to the end across reconnects.

    Use it as an async context manager and iterate it once; it yields
    :data:`~walletdoctor.client.events.StreamEvent` objects (never an
    ``ErrorEvent``: errors are raised) and stops after the ``complete`` event.

    Args:
        url: the server's base URL, e.g. ``http://localhost:8080``.
        address: the wallet (base58; the server validates it).
        api_key: sent as ``Authorization: Bearer``; ``None`` for a server without keys.
        batch_size, order, since, until: the stream's query (``order`` is
            ``desc`` or ``asc``; ``since``/``until`` unix seconds); ``None``
            leaves the server's default.
        last_event_id: resume an earlier stream after this id (``<stream_id>:<seq>``,
            e.g. a raised error's :attr:`~StreamClientError.last_event_id`).
        session: an aiohttp session to use (not closed here); else one is made.
        backoff: the reconnect schedule and its bound.
        stall_timeout_s: silence (no byte, heartbeats included) that counts as a stall.
        connect_timeout_s: bound on connecting and receiving the response headers.
        rng, sleep, clock: the sources of jitter, waiting and time (inject
            them to test schedules without waiting); ``clock`` is monotonic seconds.

    While iterating, raises the :mod:`walletdoctor.client.errors` tree, see
    the module docstring for which failure raises which.
    """

    def __init__(
        self,
        url: str,
        address: str,
        *,
        api_key: str | None = None,
        batch_size: int | None = None,
        order: str | None = None,
        since: int | None = None,
        until: int | None = None,
        last_event_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
        backoff: Backoff | None = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if stall_timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        query = {
            name: value
            for name, value in (("batch_size", batch_size), ("order", order), ("since", since), ("until", until))
            if value is not None
        }
        self.url = f"{url.rstrip('/')}/v4/wallet/{quote(address, safe='')}/stream"
        if query:
            self.url += "?" + urlencode(query)
        self._headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session = session
        self._own_session = session is None
        self._backoff = backoff or Backoff()
        self._stall_timeout_s = stall_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock
        self._retry_hint_s: float | None = None
        self._stream_id: str | None = None
        self._seq = 0
        self._last_event_id: str | None = None
        if last_event_id is not None:
            try:
                self._stream_id, self._seq = _split_id(last_event_id)
            except ProtocolError as exc:
                raise ValueError(exc.message) from None
            self._last_event_id = last_event_id
        self._iterator: AsyncGenerator[StreamEvent, None] | None = None
        #: The ``complete`` event, once received.
        self.complete: CompleteEvent | None = None
        #: Every interruption, in order (the last one may still be in progress).
        self.reconnects: list[Reconnect] = []
        #: Events dropped because their id was not beyond the last delivered one.
        self.duplicates_dropped = 0
        #: HTTP requests made (the first one included).
        self.requests = 0

    @property
    def stream_id(self) -> str | None:
        """The server's id of the stream, known from the first ``connected`` event."""
        return self._stream_id

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event delivered (sent as ``Last-Event-ID`` on a reconnect)."""
        return self._last_event_id

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._iterator is not None:
            raise RuntimeError("a WalletStream can be iterated once")
        self._iterator = self._events()
        return self._iterator

    async def aclose(self) -> None:
        """Close the open connection (if any) and the session this stream made."""
        if self._iterator is not None:
            await self._iterator.aclose()
        await self._close_own_session()

    async def _close_own_session(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        """The events; the session this stream made is closed as soon as they end,
        so that a stream iterated to its end without ``async with`` leaks nothing."""
        try:
            async with aclosing(self._reconnecting()) as events:
                async for event in events:
                    yield event
        finally:
            await self._close_own_session()

    async def _reconnecting(self) -> AsyncGenerator[StreamEvent, None]:
        attempt = 0
        outage: Reconnect | None = None
        while True:
            if outage is not None:
                attempt += 1
                if attempt > self._backoff.max_attempts:
                    raise ReconnectsExhausted(attempt - 1, last_event_id=self._last_event_id) from outage.causes[-1]
                cause = outage.causes[-1]
                retry_after = cause.retry_after_s if isinstance(cause, RequestRefused) else None
                delay = self._backoff.delay(
                    attempt, self._rng, retry_hint_s=self._retry_hint_s, retry_after_s=retry_after
                )
                outage.delays.append(delay)
                await self._sleep(delay)
            try:
                async with aclosing(self._connection()) as events:
                    async for event in events:
                        if outage is not None and outage.resumed_at is None:
                            outage.resumed_at = self._clock()
                        if event is None:  # a new event: the stream progresses
                            attempt = 0
                            outage = None
                            continue
                        yield event
                        if isinstance(event, CompleteEvent):
                            self.complete = event
                            return
                failure: StreamClientError = ConnectionLost(
                    "the body ended before the final event", last_event_id=self._last_event_id
                )
            except ConnectionFailure as exc:
                failure = exc
            except RequestRefused as exc:
                resuming = self._last_event_id is not None
                if not (exc.status >= 500 or (exc.status == 429 and resuming)):
                    exc.last_event_id = self._last_event_id
                    raise
                failure = exc
            if outage is None or outage.resumed_at is not None:
                outage = Reconnect(lost_at=self._clock())
                self.reconnects.append(outage)
            outage.causes.append(failure)

    async def _connection(self) -> AsyncGenerator[StreamEvent | None, None]:
        """One connection's events to deliver; ``None`` marks the point where a new event
        arrived (before it is yielded), so that the caller resets its attempt count."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        resuming_from = self._last_event_id
        headers = dict(self._headers)
        if resuming_from is not None:
            headers["Last-Event-ID"] = resuming_from
        self.requests += 1
        response = await open_stream_response(
            self._session, self.url, headers, timeout_s=self._connect_timeout_s, last_event_id=resuming_from
        )
        parser = EventStreamParser()
        restarted: ConnectedEvent | None = None
        body = read_events(response, parser, stall_timeout_s=self._stall_timeout_s, last_event_id=resuming_from)
        try:
            async for sse in body:
                if parser.retry_ms is not None:
                    self._retry_hint_s = parser.retry_ms / 1000
                event = parse_event(sse.event, sse.data, sse.id)
                if restarted is not None:
                    raise self._expired(event if isinstance(event, ErrorEvent) else None)
                if isinstance(event, ConnectedEvent) and resuming_from is not None:
                    if not event.resumed:
                        # The contract sends STREAM_EXPIRED next; never read a restart as a resume.
                        restarted = event
                        continue
                    if event.stream_id != self._stream_id:
                        raise ProtocolError(
                            f"resumed stream {event.stream_id!r}, not {self._stream_id!r}",
                            last_event_id=self._last_event_id,
                        )
                    yield event
                elif isinstance(event, ErrorEvent):
                    self._raise_or_reconnect(event)
                elif isinstance(event, HeartbeatEvent):
                    yield event
                elif self._advance(sse):
                    yield None
                    if event is not None:
                        yield event
            if restarted is not None:
                raise self._expired(None)
        finally:
            await body.aclose()
            response.close()

    def _advance(self, sse: ServerSentEvent) -> bool:
        """Move the position to ``sse``'s id; False when it is not beyond it (a duplicate)."""
        if sse.id is None:
            raise ProtocolError(f"{sse.event} event without an id", last_event_id=self._last_event_id)
        stream_id, seq = _split_id(sse.id)
        if self._stream_id is None:
            self._stream_id = stream_id
        elif stream_id != self._stream_id:
            raise ProtocolError(f"event id {sse.id!r} of another stream", last_event_id=self._last_event_id)
        if seq <= self._seq:
            self.duplicates_dropped += 1
            return False
        self._seq = seq
        self._last_event_id = sse.id
        return True

    def _raise_or_reconnect(self, event: ErrorEvent) -> None:
        """Raise the exception for ``event``: a :class:`ConnectionFailure` (reconnect) when it
        ends this connection only, else the stream's failure."""
        if event.code in _CONNECTION_ENDS and event.retryable and not self._moves(event.id):
            cls = ServerShuttingDown if event.code == ErrorCode.SHUTTING_DOWN else ConnectionTimedOut
            raise cls(f"{event.code}: {event.error}", last_event_id=self._last_event_id)
        if event.code == ErrorCode.STREAM_EXPIRED:
            raise StreamExpired(event, last_event_id=self._last_event_id)
        raise StreamFailed(event, last_event_id=self._last_event_id)

    def _moves(self, event_id: str | None) -> bool:
        """Whether ``event_id`` is beyond the last delivered event (a stream-final event)."""
        if event_id is None:
            return False
        stream_id, seq = _split_id(event_id)
        return stream_id != self._stream_id or seq > self._seq

    def _expired(self, error: ErrorEvent | None) -> StreamFailed:
        """The exception for a reconnect the server answered with a fresh stream."""
        if error is not None and error.code != ErrorCode.STREAM_EXPIRED:
            return StreamFailed(error, last_event_id=self._last_event_id)
        if error is None:
            error = ErrorEvent(
                error="the server started a fresh stream instead of resuming",
                code=ErrorCode.STREAM_EXPIRED,
                retryable=False,
            )
        return StreamExpired(error, last_event_id=self._last_event_id)


def _split_id(event_id: str) -> tuple[str, int]:
    """``<stream_id>:<seq>`` as ``(stream_id, seq)``.

    Raises:
        ProtocolError: any other shape.
    """
    stream_id, colon, seq = event_id.rpartition(":")
    if not colon or not stream_id or not (seq.isascii() and seq.isdigit()):
        raise ProtocolError(f"event id {event_id!r} is not <stream_id>:<seq>", last_event_id=None)
    return stream_id, int(seq)
