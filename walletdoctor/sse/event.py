"""SSE events and their wire encoding, done once per event.

Wire rules (WHATWG HTML, section 9.2 "Server-sent events", FACTS 3.2):
UTF-8; ``\\n`` line ends; a blank line dispatches the event; a field value
cannot hold CR or LF, so each event's JSON is one compact orjson line in a
single ``data:`` field; ``id`` must not contain NUL; ``retry`` is ASCII
digits only (milliseconds).

An event is serialized exactly once, by :func:`encode_event`, into its
``event:`` + ``data:`` body. Streams that share a fetch share that body;
only the ``id:`` line differs between them (``<stream_id>:<seq>``), and
:meth:`EncodedEvent.frame` puts it in front when the writer sends it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["EncodedEvent", "EventName", "encode_event", "encode_retry", "parse_event_id"]

class EventName(str, enum.Enum):
    """The event types of the stream contract (DESIGN section 1), in stream order."""

    CONNECTED = "connected"
    PROGRESS = "progress"
    TRADES = "trades"
    HEARTBEAT = "heartbeat"
    COMPLETE = "complete"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        """True for the events after which the server closes the stream."""
        return self in (EventName.COMPLETE, EventName.ERROR)


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event ready for the wire, shared by every stream that sends it.

    Attributes:
        name: the event type.
        body: the ``event:`` and ``data:`` lines and the blank line that ends the event.
        seq: its position in the stream (``connected`` is 1), ``None`` for heartbeats.
        trades: trade objects in a ``trades`` event, else 0 (for metrics and checkpoints).
    """

    name: EventName
    body: bytes
    seq: int | None = None
    trades: int = 0

    @property
    def is_final(self) -> bool:
        """True when the stream ends after this event."""
        return self.name.is_final

    def frame(self, stream_id: str) -> bytes:
        """The complete frame for the stream ``stream_id``: ``id: <stream_id>:<seq>`` then the body."""
        if self.seq is None:
            return self.body
        return b"id: %s:%d\n%s" % (stream_id.encode(), self.seq, self.body)

    def data(self) -> Any:
        """The event's data, decoded from its ``data:`` line.

        Raises:
            orjson.JSONDecodeError: the body holds no JSON ``data:`` line.
        """
        _, _, rest = self.body.partition(b"data: ")
        return orjson.loads(rest.split(b"\n", 1)[0])


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_event(name: EventName, data: Any, seq: int | None = None) -> EncodedEvent:
    """Encode one event: ``event:`` and one ``data:`` line of compact JSON.

    ``data`` is any orjson-serializable value; ``Decimal`` becomes a string.
    ``seq`` is the event's position (``None``: no ``id:`` line, as for heartbeats).

    Raises:
        TypeError: ``data`` holds a value JSON cannot represent.
    """
    payload = orjson.dumps(data, default=_json_default)
    trades = len(data.get("trades", ())) if name is EventName.TRADES and isinstance(data, dict) else 0
    return EncodedEvent(name, b"event: %s\ndata: %s\n\n" % (name.value.encode(), payload), seq, trades)


def encode_retry(milliseconds: int) -> bytes:
    """The ``retry:`` field line (reconnection time in milliseconds), to prefix an event's frame.

    Sent in the same frame as ``connected`` so that no empty event is dispatched.

    Raises:
        ValueError: negative ``milliseconds`` (the field accepts ASCII digits only).
    """
    if milliseconds < 0:
        raise ValueError("retry must not be negative")
    return b"retry: %d\n" % milliseconds


def parse_event_id(value: str) -> tuple[str, int] | None:
    """Split a ``Last-Event-ID`` into ``(stream_id, seq)``; ``None`` when it is not ours."""
    stream_id, sep, seq = value.strip().rpartition(":")
    if not sep or not stream_id or not seq.isdigit() or len(seq) > 12:
        return None
    return stream_id, int(seq)
