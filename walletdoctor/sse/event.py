"""SSE events and their wire encoding, done once per event.

Wire rules (WHATWG HTML, section 9.2 "Server-sent events", FACTS 3.2):
UTF-8; ``\\n`` line ends; a blank line dispatches the event; a field value
cannot hold CR or LF, so each event's JSON is one compact orjson line in a
single ``data:`` field; ``id`` must not contain NUL; ``retry`` is ASCII
digits only (milliseconds).

An event is turned into bytes exactly once, by :func:`encode_event`, and
the writer only writes those bytes: no per-write re-serialization.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["EncodedEvent", "EventName", "encode_event", "encode_retry"]

_FORBIDDEN_IN_FIELD = ("\r", "\n", "\0")


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
    """An event ready for the wire.

    Attributes:
        name: the event type.
        frame: the complete UTF-8 frame, blank line included.
        event_id: the ``id:`` value (``<stream_id>:<seq>``), ``None`` for heartbeats.
    """

    name: EventName
    frame: bytes
    event_id: str | None = None
    #: trade objects in a ``trades`` event, else 0 (for metrics).
    trades: int = 0

    @property
    def is_final(self) -> bool:
        """True when the stream ends after this event."""
        return self.name.is_final


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_event(name: EventName, data: Any, event_id: str | None = None) -> EncodedEvent:
    """Encode one event: ``id:`` (when given), ``event:``, one ``data:`` line of compact JSON.

    ``data`` is any orjson-serializable value; ``Decimal`` becomes a string.

    Raises:
        ValueError: ``event_id`` contains CR, LF or NUL (WHATWG SSE forbids them).
        TypeError: ``data`` holds a value JSON cannot represent.
    """
    payload = orjson.dumps(data, default=_json_default)
    if event_id is None:
        frame = b"event: %s\ndata: %s\n\n" % (name.value.encode(), payload)
    else:
        if any(ch in event_id for ch in _FORBIDDEN_IN_FIELD):
            raise ValueError("an SSE id must not contain CR, LF or NUL")
        frame = b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), name.value.encode(), payload)
    trades = len(data.get("trades", ())) if name is EventName.TRADES and isinstance(data, dict) else 0
    return EncodedEvent(name, frame, event_id, trades)


def encode_retry(milliseconds: int) -> bytes:
    """The ``retry:`` field line (reconnection time in milliseconds), to prefix an event's frame.

    Sent in the same frame as ``connected`` so that no empty event is dispatched.

    Raises:
        ValueError: negative ``milliseconds`` (the field accepts ASCII digits only).
    """
    if milliseconds < 0:
        raise ValueError("retry must not be negative")
    return b"retry: %d\n" % milliseconds
