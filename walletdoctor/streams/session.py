"""One client's stream: its id, parameters, event numbering and bounded event queue.

The queue between the stream's pipeline task (producer) and its SSE
writer (consumer) is deliberately small and per stream: a slow client
fills its own queue, which blocks only its own pipeline, which stops
fetching for that stream alone. Nothing shared ever waits on a client
(Mercure's "never block the publisher", adapted to one producer per
stream).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any

from walletdoctor.config import DEFAULT_BATCH_SIZE
from walletdoctor.helius.fetch import HistoryOrder, TimeWindow
from walletdoctor.sse.event import EncodedEvent, EventName, encode_event

__all__ = ["StreamParams", "StreamSession"]


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a client asked for.

    Attributes:
        wallet: base58 address, already validated.
        batch_size: trades per ``trades`` event (1..1000).
        window: block-time bounds (unix seconds).
        order: ``desc`` (newest first, the default) or ``asc`` (oldest first).
    """

    wallet: str
    batch_size: int = DEFAULT_BATCH_SIZE
    window: TimeWindow = TimeWindow()
    order: HistoryOrder = HistoryOrder.DESC


class StreamSession:
    """Identity and event flow of one stream.

    Event ids are ``<stream_id>:<seq>`` with ``seq`` strictly increasing from 1
    (DESIGN section 1); heartbeats carry no id. Events are encoded when
    published, once, and queued as bytes.

    Args:
        params: the validated request.
        queue_size: events buffered before the producer waits for the writer.
    """

    def __init__(self, params: StreamParams, *, queue_size: int) -> None:
        self.params = params
        self.stream_id = str(uuid.uuid4())
        self.started_at = time.time()
        self._started_monotonic = time.monotonic()
        self._seq = 0
        #: Set when the server ended the stream from outside (shutdown).
        self.interrupted = False
        self.queue: asyncio.Queue[EncodedEvent] = asyncio.Queue(maxsize=queue_size)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the stream started."""
        return time.monotonic() - self._started_monotonic

    def event(self, name: EventName, data: Any) -> EncodedEvent:
        """Encode the next numbered event (does not queue it)."""
        self._seq += 1
        return encode_event(name, data, f"{self.stream_id}:{self._seq}")

    def interrupt(self, event: EncodedEvent, *, prefix: bytes = b"") -> None:
        """Make ``event`` (a final one) the next the writer sends, ahead of anything queued.

        Queued events are dropped: the stream ends with ``event`` and the client
        reconnects. ``prefix`` is written before the event in the same frame
        (e.g. a ``retry:`` line). Never waits.
        """
        self.interrupted = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(dataclasses.replace(event, frame=prefix + event.frame))

    async def publish(self, name: EventName, data: Any) -> None:
        """Encode the next numbered event and queue it, waiting while the queue is full."""
        await self.queue.put(self.event(name, data))

    def connected_event(self) -> EncodedEvent:
        """The ``connected`` event: ``stream_id``, ``wallet``, ``timestamp`` (unix s), ``resumed``."""
        return self.event(
            EventName.CONNECTED,
            {
                "stream_id": self.stream_id,
                "wallet": self.params.wallet,
                "timestamp": self.started_at,
                "resumed": False,
            },
        )

    @staticmethod
    def heartbeat_event() -> EncodedEvent:
        """A ``heartbeat`` event (no id, so it never moves the client's Last-Event-ID)."""
        return encode_event(EventName.HEARTBEAT, {"timestamp": time.time()})
