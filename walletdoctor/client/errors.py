"""Every way a wallet stream can fail, as seen by :class:`~walletdoctor.client.WalletStream`.

::

    StreamClientError               .last_event_id: where the stream stood (resume from it)
     ├── RequestRefused             an HTTP status other than 200/204 (.status, .code,
     │    │                         .retryable, .details, .retry_after_s)
     │    ├── BadRequest            400 INVALID_ADDRESS / INVALID_REQUEST
     │    ├── Unauthorized          401 UNAUTHORIZED: no key, or an unknown key
     │    └── RateLimited           429 RATE_LIMIT / TOO_MANY_STREAMS, with Retry-After
     ├── StreamFailed               the stream ended with an ``error`` event (.code, .retryable,
     │    │                         .details, .event)
     │    └── StreamExpired         STREAM_EXPIRED: the position can no longer be resumed
     ├── StreamEnded                HTTP 204 to a reconnect: the stream had already ended,
     │                              and its final event was never received
     ├── ProtocolError              not an event stream, a malformed event or id
     ├── ConnectionFailure          one connection broke; retried, raised only as the
     │    │                         ``__cause__`` of ReconnectsExhausted
     │    ├── ConnectionLost        no connection, a reset, a 5xx, or a body that ended
     │    │                         before ``complete`` / a final ``error``
     │    ├── ServerShuttingDown    an ``error`` event SHUTTING_DOWN (the process stops)
     │    ├── ConnectionTimedOut    an ``error`` event STREAM_TIMEOUT repeating the last id
     │    │                         (this connection reached its maximum duration)
     │    └── StreamStalled         no byte for the stall timeout (heartbeats included)
     └── ReconnectsExhausted        the bound on reconnects without progress was reached;
                                    ``__cause__`` is the last failure

What is retried and what is raised is decided in
:mod:`walletdoctor.client.stream`; the codes and statuses are DESIGN section 1
and :class:`walletdoctor.errors.ErrorCode`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from walletdoctor.errors import ErrorCode

if TYPE_CHECKING:
    from walletdoctor.client.events import ErrorEvent

__all__ = [
    "BadRequest",
    "ConnectionFailure",
    "ConnectionLost",
    "ConnectionTimedOut",
    "ProtocolError",
    "RateLimited",
    "ReconnectsExhausted",
    "RequestRefused",
    "ServerShuttingDown",
    "StreamClientError",
    "StreamEnded",
    "StreamExpired",
    "StreamFailed",
    "StreamStalled",
    "Unauthorized",
    "error_code",
]


def error_code(value: str) -> ErrorCode | str:
    """``value`` as an :class:`ErrorCode` when it is one of the contract's, else the text itself
    (a newer server, or a proxy's own code such as ``NOT_FOUND``)."""
    try:
        return ErrorCode(value)
    except ValueError:
        return value


class StreamClientError(Exception):
    """Base of every failure the client raises.

    Attributes:
        last_event_id: the id of the last event delivered to the caller
            (``<stream_id>:<seq>``), ``None`` before any; pass it as
            ``last_event_id=`` to a new :class:`~walletdoctor.client.WalletStream`
            to resume where this one stopped.
    """

    def __init__(self, message: str, *, last_event_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.last_event_id = last_event_id


class RequestRefused(StreamClientError):
    """The server answered the request with an error status instead of a stream.

    Attributes:
        status: the HTTP status.
        code: the body's ``code`` (an :class:`ErrorCode` when known), ``None``
            when the body was not WalletDoctor's JSON error (e.g. a proxy's page).
        retryable: the body's ``retryable``; without one, true for 5xx.
        details: the body's ``details`` (``{}`` when absent).
        retry_after_s: the ``Retry-After`` header in seconds, ``None`` when absent.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: ErrorCode | str | None = None,
        retryable: bool = False,
        details: Mapping[str, Any] | None = None,
        retry_after_s: float | None = None,
        last_event_id: str | None = None,
    ) -> None:
        super().__init__(message, last_event_id=last_event_id)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.details = dict(details or {})
        self.retry_after_s = retry_after_s


class BadRequest(RequestRefused):
    """HTTP 400: the address or a parameter is invalid (``details.parameter`` names it)."""


class Unauthorized(RequestRefused):
    """HTTP 401: an API key is required, or the one sent is unknown."""


class RateLimited(RequestRefused):
    """HTTP 429: a per-key limit refused the request; retry after :attr:`retry_after_s` seconds."""


class StreamFailed(StreamClientError):
    """The stream ended with an ``error`` event that reconnecting cannot fix.

    Attributes:
        event: the ``error`` event as received.
        code: its code (an :class:`ErrorCode` when known).
        retryable: whether the same request may succeed later (a new stream, not a resume).
        details: its ``details``.
    """

    def __init__(self, event: ErrorEvent, *, last_event_id: str | None = None) -> None:
        super().__init__(f"{event.code}: {event.error}", last_event_id=last_event_id)
        self.event = event
        self.code = event.code
        self.retryable = event.retryable
        self.details = dict(event.details)


class StreamExpired(StreamFailed):
    """The server cannot resume from :attr:`last_event_id` (unknown or expired id):
    the events after it are gone; open a new stream to read the wallet again."""


class StreamEnded(StreamClientError):
    """A reconnect was answered HTTP 204: the stream had already sent its final event,
    which this client never received (WHATWG: 204 means stop reconnecting)."""


class ProtocolError(StreamClientError):
    """The server's answer breaks the stream contract (content type, event data, ids)."""


class ConnectionFailure(StreamClientError):
    """One connection of the stream broke; the client reconnects with ``Last-Event-ID``."""


class ConnectionLost(ConnectionFailure):
    """No connection, a reset, a 5xx answer, or a body that ended without a final event."""


class ServerShuttingDown(ConnectionFailure):
    """The server process is stopping (``error`` event ``SHUTTING_DOWN``); reconnect elsewhere."""


class ConnectionTimedOut(ConnectionFailure):
    """The server ended this connection at its maximum duration (``error`` STREAM_TIMEOUT whose
    id repeats the last delivered one): the stream goes on, from ``Last-Event-ID``."""


class StreamStalled(ConnectionFailure):
    """Not a byte arrived for the stall timeout, though the server sends heartbeats."""


class ReconnectsExhausted(StreamClientError):
    """Reconnecting failed ``attempts`` times in a row without receiving a new event.

    ``__cause__`` is the last failure (a :class:`ConnectionFailure` or a
    retryable :class:`RequestRefused`).
    """

    def __init__(self, attempts: int, *, last_event_id: str | None = None) -> None:
        super().__init__(f"gave up after {attempts} reconnect attempts without progress", last_event_id=last_event_id)
        self.attempts = attempts
