"""A feed: the events of one wallet fetch, shared by every stream that reads it.

One producer (the fetch pipeline) appends events; any number of readers
(:class:`~walletdoctor.streams.subscription.Subscription`, one per client
connection) read them at their own pace, each from its own position. The
feed is also the streams' resume buffer: a reconnecting client continues
from the position its ``Last-Event-ID`` names.

Positions (``seq``) are those of the stream contract: ``connected`` is 1,
so a feed's first event is 2, and an event's id is ``<stream_id>:<seq>``
for every stream reading the feed.

Backpressure and memory, the trade-offs (Mercure's "never block the
publisher", adapted to one producer per fetch):

- The producer may run at most ``lookahead`` events ahead of the *fastest*
  reader. A slow reader never slows the others or the fetch; a feed whose
  readers all stop reading stops fetching.
- The feed keeps at most ``budget_bytes`` of events, newest first. A
  reader that falls behind what is kept gets :class:`FeedEvicted` (its
  stream is cut off, as Mercure cuts a slow subscriber) unless a mirror
  (Redis) still holds the older events.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from walletdoctor.sse.event import EncodedEvent, EventName, encode_event
from walletdoctor.streams.params import StreamParams

__all__ = ["FIRST_FEED_SEQ", "Checkpoint", "Feed", "FeedEvicted", "FeedLost", "FeedMirror", "Reader"]

#: ``connected`` is event 1 of every stream; feeds number their events from 2.
FIRST_FEED_SEQ = 2


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a feed's trades have been published, so that a new producer can
    continue the feed without a trade lost or repeated.

    Attributes:
        trades: trades published in ``trades`` events so far (their ``total_yielded``).
        batches: ``trades`` events published so far (the last ``batch_num``).
        last_signature: signature of the last trade published, to check that a
            continuation lines up with what was sent.
        anchor_slot: slot of the newest transaction of the fetch (newest-first
            order): a continuation leaves out what happened after the feed began.
    """

    trades: int = 0
    batches: int = 0
    last_signature: str | None = None
    anchor_slot: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "trades": self.trades,
            "batches": self.batches,
            "last_signature": self.last_signature,
            "anchor_slot": self.anchor_slot,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """The inverse of :meth:`to_json`."""
        anchor = data.get("anchor_slot")
        return cls(
            trades=int(data.get("trades", 0)),
            batches=int(data.get("batches", 0)),
            last_signature=data.get("last_signature"),
            anchor_slot=None if anchor is None else int(anchor),
        )


class FeedEvicted(Exception):
    """The event asked for has left the feed's buffer (the reader fell too far behind)."""


class FeedLost(Exception):
    """Another process produces this feed now (its lease passed on): stop producing it here."""


class FeedMirror(Protocol):
    """Where a feed's events are made durable before readers see them (Redis)."""

    async def append(self, feed: Feed, event: EncodedEvent, checkpoint: Checkpoint | None) -> None:
        """Store ``event`` (and the checkpoint reached with it) for ``feed``.

        Raises:
            FeedLost: another process produces the feed now.
        """


class Reader(Protocol):
    """What a feed needs of the readers it wakes."""

    def wake(self) -> None:
        """A new event was appended (or the feed stopped): look again."""


class Feed:
    """The live events of one fetch; see the module docstring.

    Args:
        feed_id: unique id (kept in Redis with the feed's events).
        params: the request every reader of the feed made.
        budget_bytes: most event bytes kept in memory.
        lookahead: events the producer may run ahead of the fastest reader.
        mirror: where events are made durable first, or ``None``.
        next_seq: position of the next event (a continued feed starts where
            its previous producer stopped).
        checkpoint: the trades published so far (a continued feed).
        started_at: unix seconds when the feed's first producer started.
    """

    def __init__(
        self,
        feed_id: str,
        params: StreamParams,
        *,
        budget_bytes: int,
        lookahead: int,
        mirror: FeedMirror | None = None,
        next_seq: int = FIRST_FEED_SEQ,
        checkpoint: Checkpoint | None = None,
        started_at: float | None = None,
    ) -> None:
        if lookahead < 1 or budget_bytes < 1:
            raise ValueError("lookahead and budget_bytes must be positive")
        self.feed_id = feed_id
        self.params = params
        self.started_at = time.time() if started_at is None else started_at
        self.checkpoint = checkpoint or Checkpoint()
        self.mirror = mirror
        #: The task appending events, while one runs.
        self.producer: asyncio.Task[None] | None = None
        #: Position of the final event (``complete`` or ``error``) once appended.
        self.final_seq: int | None = None
        #: Stream ids that read this feed (forgotten with it).
        self.stream_ids: set[str] = set()
        #: The last write to the mirror (it may outlive a cancelled producer).
        self.mirror_write: asyncio.Future[None] | None = None
        self._budget = budget_bytes
        self._lookahead = lookahead
        self._events: deque[EncodedEvent] = deque()
        self._first_seq = next_seq
        self._next_seq = next_seq
        self._bytes = 0
        self._positions: dict[Reader, int] = {}
        # The fastest reader's position (max of _positions), kept as readers move:
        # the producer's pacing asks for it at every reader's advance.
        self._lead: int | None = None
        self._waiting: set[Reader] = set()
        self._room: asyncio.Future[None] | None = None

    @property
    def next_seq(self) -> int:
        """Position the next appended event will take."""
        return self._next_seq

    @property
    def first_seq(self) -> int:
        """Position of the oldest event still in memory (``next_seq`` when none is)."""
        return self._first_seq

    @property
    def size_bytes(self) -> int:
        """Bytes of the events held in memory."""
        return self._bytes

    @property
    def joinable(self) -> bool:
        """A new stream may share this feed: it is not over and still holds its first event."""
        return self.final_seq is None and self._first_seq == FIRST_FEED_SEQ

    @property
    def readers(self) -> int:
        """Readers attached now."""
        return len(self._positions)

    def attach(self, reader: Reader, position: int) -> None:
        """Count ``reader`` (at ``position``, the last seq it has) for pacing."""
        previous = self._positions.get(reader)
        self._positions[reader] = position
        if self._lead is None or position > self._lead:
            self._lead = position
        elif previous == self._lead and position < previous:
            self._lead = max(self._positions.values())

    def detach(self, reader: Reader) -> None:
        """Forget ``reader``; the producer no longer waits for it."""
        position = self._positions.pop(reader, None)
        self._waiting.discard(reader)
        if position is not None and position == self._lead:
            self._lead = max(self._positions.values(), default=None)
        self._maybe_make_room()

    def advance(self, reader: Reader, position: int) -> None:
        """``reader`` now has every event up to ``position``."""
        if reader in self._positions:
            self._positions[reader] = position
            if self._lead is None or position > self._lead:
                self._lead = position
                self._maybe_make_room()

    def get(self, seq: int) -> EncodedEvent | None:
        """Event ``seq``, or ``None`` while it has not been appended.

        Raises:
            FeedEvicted: ``seq`` was appended but no longer fits the budget.
        """
        if seq >= self._next_seq:
            return None
        if seq < self._first_seq:
            raise FeedEvicted(seq)
        return self._events[seq - self._first_seq]

    def wait(self, reader: Reader) -> None:
        """Have ``reader.wake()`` called at the next append (once)."""
        self._waiting.add(reader)

    def unwait(self, reader: Reader) -> None:
        """Cancel :meth:`wait`."""
        self._waiting.discard(reader)

    async def append(self, name: EventName, data: Any, *, checkpoint: Checkpoint | None = None) -> EncodedEvent:
        """Encode ``data`` once as the next event and publish it to every reader.

        Waits while the fastest reader is ``lookahead`` events behind, then
        for the mirror (the event is durable before any reader sees it).

        Raises:
            RuntimeError: the feed already ended.
            TypeError: ``data`` is not JSON-serializable.
            FeedLost: the mirror says another process produces the feed now.
        """
        if self.final_seq is not None:
            raise RuntimeError("the feed has ended")
        while self._lead is not None and self._next_seq - 1 - self._lead >= self._lookahead:
            self._room = asyncio.get_running_loop().create_future()
            try:
                await self._room
            finally:
                self._room = None
        event = encode_event(name, data, self._next_seq)
        if self.mirror is not None:
            # Kept, so that a producer that is stopped mid-write can let the
            # write land before giving the feed up to another process.
            self.mirror_write = asyncio.ensure_future(self.mirror.append(self, event, checkpoint))
            await asyncio.shield(self.mirror_write)
        self._events.append(event)
        self._next_seq += 1
        self._bytes += len(event.body)
        if checkpoint is not None:
            self.checkpoint = checkpoint
        if event.is_final:
            self.final_seq = event.seq
        while self._bytes > self._budget and len(self._events) > 1:
            self._bytes -= len(self._events.popleft().body)
            self._first_seq += 1
        self.wake_readers()
        return event

    def wake_readers(self) -> None:
        """Wake every waiting reader (after an append, or when the producer stops)."""
        waiting, self._waiting = self._waiting, set()
        for reader in waiting:
            reader.wake()

    def _maybe_make_room(self) -> None:
        room = self._room
        if room is None or room.done():
            return
        if self._lead is None or self._next_seq - 1 - self._lead < self._lookahead:
            room.set_result(None)
