"""Recording one stream as a client sees it: each event's arrival time, and how the stream ended.

The probe reads the stream with httpx and httpx-sse, an SSE parser
independent of the server's own code, so that what it measures is what
any client behind the same proxies would get. Times are taken from one
monotonic clock; wall-clock times are derived from it (a wall clock
adjusted mid-stream would otherwise make gaps negative).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from httpx_sse import SSEError, aconnect_sse

__all__ = [
    "DEFAULT_DEADLINE_S",
    "DEFAULT_IDLE_TIMEOUT_S",
    "EventArrival",
    "EventObserver",
    "StreamEnd",
    "StreamRecording",
    "record_stream",
]

#: Longer than the usual 60 s proxy read timeouts, so that the probe sees a
#: proxy cut a quiet stream instead of giving up first.
DEFAULT_IDLE_TIMEOUT_S = 90.0
#: Above the server's default maximum stream duration (``STREAM_TIMEOUT``, 600 s).
DEFAULT_DEADLINE_S = 660.0

#: The events after which the server closes the stream (DESIGN section 1).
_FINAL_EVENTS = frozenset({"complete", "error"})


class StreamEnd(str, enum.Enum):
    """How a recorded stream ended."""

    #: a ``complete`` event, then the end of the body.
    COMPLETE = "complete"
    #: an ``error`` event, then the end of the body.
    ERROR_EVENT = "error_event"
    #: the body ended without a final event (a proxy or the server cut it).
    CUT = "cut"
    #: nothing arrived for ``idle_timeout_s`` (a proxy may be holding the data back).
    IDLE_TIMEOUT = "idle_timeout"
    #: the probe's own limit on the stream's duration passed.
    DEADLINE = "deadline"
    #: no connection, or the connection failed mid-stream.
    CONNECTION_FAILED = "connection_failed"
    #: the server answered, but not with ``200 text/event-stream``.
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class EventArrival:
    """One event as the client received it.

    Attributes:
        event: the SSE ``event`` field (``message`` when absent).
        event_id: the last event ID as the client keeps it (WHATWG: an event
            without an ``id`` field, such as a heartbeat, keeps the previous one).
        at_s: arrival, seconds after the request was sent.
        wall_s: arrival on the client's wall clock, unix seconds.
        size: length of the ``data`` field in characters.
        server_timestamp: the data's top-level ``timestamp`` (unix seconds,
            the server's clock when it built the event), ``None`` when absent.
    """

    event: str
    event_id: str
    at_s: float
    wall_s: float
    size: int
    server_timestamp: float | None = None


@dataclass(slots=True)
class StreamRecording:
    """Everything the probe saw of one stream.

    Attributes:
        url: the stream's URL.
        status: the HTTP status, ``None`` without a response.
        content_type: the response's Content-Type, ``""`` without one.
        headers_s: seconds from the request to the response headers (time
            to first byte), ``None`` without a response.
        duration_s: seconds from the request to the end of the recording.
        arrivals: the events, in arrival order.
        end: how it ended.
        detail: human text on the end (an HTTP error body, an exception's class).
        final_data: the JSON data of the ``complete`` or ``error`` event.
        trades: trade objects received in ``trades`` events.
    """

    url: str
    status: int | None = None
    content_type: str = ""
    headers_s: float | None = None
    duration_s: float = 0.0
    arrivals: list[EventArrival] = field(default_factory=list)
    end: StreamEnd = StreamEnd.CONNECTION_FAILED
    detail: str = ""
    final_data: dict[str, Any] | None = None
    trades: int = 0

    @property
    def stream_id(self) -> str | None:
        """The stream's id from its first event id (``<stream_id>:<seq>``), if any."""
        for arrival in self.arrivals:
            if arrival.event_id:
                return arrival.event_id.rpartition(":")[0] or None
        return None


#: Called after each event with the recording so far (for a live display).
EventObserver = Callable[[StreamRecording, EventArrival], None]


async def record_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    deadline_s: float = DEFAULT_DEADLINE_S,
    on_event: EventObserver | None = None,
) -> StreamRecording:
    """Open ``url`` as an SSE stream and record it until it ends. Never raises on network
    or protocol failures (they are the findings); only on cancellation.

    Args:
        client: the HTTP client (its connection pool is shared by concurrent streams).
        headers: extra request headers (``X-API-Key`` ...).
        idle_timeout_s: longest wait for the next bytes before giving up.
        deadline_s: longest the whole recording may take.
        on_event: called after each recorded event.
    """
    recording = StreamRecording(url=url)
    start = time.monotonic()
    wall_start = time.time()
    timeout = httpx.Timeout(connect=min(idle_timeout_s, 30.0), read=idle_timeout_s, write=30.0, pool=30.0)
    try:
        async with asyncio.timeout(deadline_s):
            async with aconnect_sse(client, "GET", url, headers=dict(headers or {}), timeout=timeout) as source:
                response = source.response
                recording.headers_s = time.monotonic() - start
                recording.status = response.status_code
                recording.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    body = (await response.aread())[:500].decode("utf-8", "replace")
                    recording.end = StreamEnd.REFUSED
                    recording.detail = f"HTTP {response.status_code}: {body}".strip().rstrip(":")
                    return recording
                recording.end = StreamEnd.CUT
                async for sse in source.aiter_sse():
                    now = time.monotonic()
                    if not sse.data:
                        # WHATWG: a blank line with an empty data buffer dispatches
                        # nothing (httpx-sse yields it once an id has been seen).
                        continue
                    data = _json_object(sse.data)
                    stamp = data.get("timestamp") if data is not None else None
                    arrival = EventArrival(
                        event=sse.event,
                        event_id=sse.id,
                        at_s=now - start,
                        wall_s=wall_start + (now - start),
                        size=len(sse.data),
                        server_timestamp=float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None,
                    )
                    recording.arrivals.append(arrival)
                    if sse.event == "trades" and data is not None and isinstance(data.get("trades"), list):
                        recording.trades += len(data["trades"])
                    if sse.event in _FINAL_EVENTS:
                        recording.final_data = data
                        recording.end = StreamEnd.COMPLETE if sse.event == "complete" else StreamEnd.ERROR_EVENT
                    if on_event is not None:
                        on_event(recording, arrival)
    except SSEError as exc:
        recording.end = StreamEnd.REFUSED
        recording.detail = str(exc)
    except TimeoutError:
        recording.end = StreamEnd.DEADLINE
        recording.detail = f"still open after {deadline_s:g} s"
    except httpx.ReadTimeout:
        recording.end = StreamEnd.IDLE_TIMEOUT
        recording.detail = f"nothing arrived for {idle_timeout_s:g} s"
    except httpx.HTTPError as exc:
        # A failure after a final event is the server closing as it should.
        if recording.end not in (StreamEnd.COMPLETE, StreamEnd.ERROR_EVENT):
            recording.end = StreamEnd.CONNECTION_FAILED if recording.status is None else StreamEnd.CUT
            recording.detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    finally:
        recording.duration_s = time.monotonic() - start
    return recording


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
