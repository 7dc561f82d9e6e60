"""An incremental parser of ``text/event-stream`` bodies, per WHATWG HTML section 9.2.6.

The rules followed (HTML Living Standard, "Server-sent events",
9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting an event stream"):

- The stream is UTF-8, decoded with replacement of invalid sequences; one
  leading U+FEFF BYTE ORDER MARK is ignored.
- Lines end with CRLF, LF or CR alone; a CR at the end of one chunk and an LF
  at the start of the next are one line end.
- An empty line dispatches the event; a line starting with ``:`` is a
  comment; ``name:value`` splits at the first colon and drops one leading
  space from the value; a line without a colon is a field with an empty value.
- ``event`` sets the type (default ``message``); ``data`` appends the value
  and an LF to the data buffer; ``id`` sets the last event ID unless the
  value holds NUL (an empty value resets it); ``retry`` sets the
  reconnection time when the value is ASCII digits only; other fields are
  ignored.
- At dispatch the data buffer's final LF is removed; an event whose data
  buffer is empty is not dispatched (but its ``id`` still counts); the type
  and data buffers are cleared, the last event ID is kept for later events.
- At the end of the stream, an event not closed by an empty line is discarded.

Chunks are processed in time linear in their size, however a long ``data``
line is split across them.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["EventStreamParser", "ServerSentEvent"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    Attributes:
        event: the type (``message`` when no ``event`` field was given).
        data: the data lines joined with LF.
        id: the value of an ``id`` field within this event's own lines, ``None``
            when it had none (WalletDoctor's heartbeats carry none).
        last_event_id: the spec's last event ID at dispatch: this event's id,
            or the latest one before it.
    """

    event: str
    data: str
    id: str | None
    last_event_id: str


class EventStreamParser:
    """Feed it the body's bytes as they come; it returns the events each chunk completes.

    :attr:`retry_ms` is the latest valid ``retry`` field (the server's
    reconnection time, milliseconds), ``None`` until one is seen;
    :attr:`last_event_id` is the spec's last event ID string.
    """

    __slots__ = (
        "_at_start",
        "_data",
        "_decoder",
        "_event_id",
        "_event_type",
        "_partial",
        "_skip_lf",
        "last_event_id",
        "retry_ms",
    )

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_start = True
        self._skip_lf = False
        #: Pieces of the line being read, joined once its end arrives.
        self._partial: list[str] = []
        self._data: list[str] = []
        self._event_type = ""
        self._event_id: str | None = None
        self.last_event_id = ""
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse ``chunk`` (any split of the body) and return the events it completes, in order."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            text = text.removeprefix(_BOM)
        if self._skip_lf:
            self._skip_lf = False
            text = text.removeprefix("\n")
        events: list[ServerSentEvent] = []
        start = 0
        for end in _LINE_END.finditer(text):
            self._partial.append(text[start : end.start()])
            line = "".join(self._partial)
            self._partial.clear()
            event = self._process(line)
            if event is not None:
                events.append(event)
            start = end.end()
        if start < len(text):
            self._partial.append(text[start:])
        # A lone CR ending this chunk may be the first half of a CRLF.
        self._skip_lf = text.endswith("\r")
        return events

    def _process(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
                self._event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event_type, event_id = self._data, self._event_type, self._event_id
        self._data, self._event_type, self._event_id = [], "", None
        if not data:
            return None
        return ServerSentEvent(event_type or "message", "\n".join(data), event_id, self.last_event_id)
