"""A subscription: one client connection reading one stream, from its position on.

A stream (one ``stream_id``) reads a feed; each connection of that stream
(the first, then every reconnect with ``Last-Event-ID``) is a
subscription. It hands the writer the events after its position in order:
first those replayed from the mirror (events that left the feed's memory
or were made by a process that died), then the feed's own, waiting for
new ones as they are appended. Replay always precedes live events, so a
resumed client sees no gap and no repeat (Mercure's history-then-live).

The server can end a subscription from outside (shutdown) with
:meth:`Subscription.interrupt`: the final event it gives jumps the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from walletdoctor.sse.event import EncodedEvent, EventName, encode_event
from walletdoctor.streams.params import StreamParams

__all__ = ["EmptySource", "EventSource", "Subscription"]


class EventSource(Protocol):
    """Where a subscription's live events come from: a local
    :class:`~walletdoctor.streams.feed.Feed`, or a feed another process produces."""

    final_seq: int | None

    def attach(self, reader: Subscription, position: int) -> None:
        """Count ``reader`` for pacing."""

    def detach(self, reader: Subscription) -> None:
        """Stop counting ``reader``."""

    def advance(self, reader: Subscription, position: int) -> None:
        """``reader`` has every event up to ``position``."""

    def get(self, seq: int) -> EncodedEvent | None:
        """Event ``seq`` or ``None`` if not there yet; raises FeedEvicted when gone."""

    def wait(self, reader: Subscription) -> None:
        """Call ``reader.wake()`` once something changes."""

    def unwait(self, reader: Subscription) -> None:
        """Cancel :meth:`wait`."""


class EmptySource:
    """A source with no events: of a refusal (its one event is an interruption),
    or of a subscription before the feed it will read is attached."""

    final_seq: int | None = None

    def attach(self, reader: Subscription, position: int) -> None:
        """Nothing to count."""

    def detach(self, reader: Subscription) -> None:
        """Nothing to forget."""

    def advance(self, reader: Subscription, position: int) -> None:
        """Nothing to pace."""

    def get(self, seq: int) -> EncodedEvent | None:
        """Nothing, ever."""
        return None

    def wait(self, reader: Subscription) -> None:
        """Nothing will come from here."""

    def unwait(self, reader: Subscription) -> None:
        """Nothing to cancel."""


class Subscription:
    """One connection's cursor into its stream.

    Args:
        stream_id: the stream's id (a uuid), first part of every event id.
        params: the stream's request.
        source: where its events come from.
        position: the last seq the client has (1 after ``connected``).
        resumed: the client reconnected with ``Last-Event-ID``.
        replay: events after ``position`` to send before the source's own.
    """

    # One per open connection, thousands per process: no per-instance dict.
    __slots__ = (
        "_interrupt",
        "_replay",
        "_source",
        "_started_monotonic",
        "_wake",
        "interrupted",
        "params",
        "position",
        "resumed",
        "started_at",
        "stream_id",
    )

    def __init__(
        self,
        stream_id: str,
        params: StreamParams,
        source: EventSource,
        *,
        position: int = 1,
        resumed: bool = False,
        replay: Iterable[EncodedEvent] = (),
    ) -> None:
        self.stream_id = stream_id
        self.params = params
        self.position = position
        self.resumed = resumed
        self.started_at = time.time()
        self._started_monotonic = time.monotonic()
        self._source = source
        # Most connections replay nothing: no deque for them (it costs 600 bytes).
        self._replay: deque[EncodedEvent] | None = deque(replay) if replay else None
        self._interrupt: EncodedEvent | None = None
        self._wake: asyncio.Future[None] | None = None
        #: Set when the server ended the stream from outside (shutdown).
        self.interrupted = False
        source.attach(self, position)

    @property
    def source(self) -> EventSource:
        """Where the live events come from now."""
        return self._source

    @property
    def elapsed_s(self) -> float:
        """Seconds since this connection started."""
        return time.monotonic() - self._started_monotonic

    def switch(self, source: EventSource, replay: Iterable[EncodedEvent] = ()) -> None:
        """Read from ``source`` from now on (another process's feed was taken over here),
        after ``replay``."""
        self._source.detach(self)
        self._source = source
        missed = [event for event in replay if event.seq is not None and event.seq > self.position]
        if missed:
            self._replay = deque(missed) if self._replay is None else self._replay + deque(missed)
        source.attach(self, self.position)
        self.wake()

    def close(self) -> None:
        """Stop reading: the source no longer waits for this connection."""
        self._source.detach(self)

    def wake(self) -> None:
        """Something changed (an append, an interruption): the waiting :meth:`next` looks again."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def interrupt(self, event: EncodedEvent) -> None:
        """Make ``event`` (a final one) the next :meth:`next` returns, ahead of anything else."""
        self.interrupted = True
        self._interrupt = event
        self.wake()

    def connected_event(self) -> EncodedEvent:
        """``connected``: ``stream_id``, ``wallet``, ``timestamp`` (unix s), ``resumed``.

        A resumed stream's ``connected`` repeats the position it resumes from,
        so that it never moves the client's ``Last-Event-ID``.
        """
        data = {
            "stream_id": self.stream_id,
            "wallet": self.params.wallet,
            "timestamp": self.started_at,
            "resumed": self.resumed,
        }
        return encode_event(EventName.CONNECTED, data, self.position)

    def final_event(self, name: EventName, data: object) -> EncodedEvent:
        """A final event of this connection only (``error`` on shutdown or timeout).

        It repeats the current position: the client's ``Last-Event-ID`` stays on
        the last event it really got, so a reconnect continues from there.
        """
        return encode_event(name, data, self.position)

    async def next(self, timeout_s: float | None = None) -> EncodedEvent | None:
        """The next event of the stream, waiting for it up to ``timeout_s`` seconds
        (``None``: as long as it takes); ``None`` when the time ran out.

        The wait is one timer on the event loop (no ``asyncio.timeout``): a
        process holds thousands of quiet streams waiting here.

        Raises:
            walletdoctor.streams.feed.FeedEvicted: the client fell behind what
                the feed keeps.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            if self._interrupt is not None:
                event, self._interrupt = self._interrupt, None
                return event
            found = self._replay.popleft() if self._replay else self._source.get(self.position + 1)
            if found is not None:
                assert found.seq is not None
                self.position = found.seq
                self._source.advance(self, found.seq)
                return found
            if deadline is not None and loop.time() >= deadline:
                return None
            self._wake = loop.create_future()
            self._source.wait(self)
            timer = None if deadline is None else loop.call_at(deadline, self.wake)
            try:
                await self._wake
            finally:
                if timer is not None:
                    timer.cancel()
                self._source.unwait(self)
                self._wake = None
