"""Errors a client of WalletDoctor can see, one code per failure (DESIGN section 1).

::

    WalletDoctorError           code, retryable, HTTP status, human message
     ├── InvalidRequest         INVALID_ADDRESS / INVALID_REQUEST (400)
     └── StreamFailure          sent as an ``error`` event once a stream has started
                                (UPSTREAM_UNAVAILABLE, STREAM_TIMEOUT, INTERNAL_ERROR ...)

Before a stream starts an error is an HTTP response with a JSON body; after
it started it is an ``error`` event followed by the end of the stream. Both
carry the same JSON document (:meth:`WalletDoctorError.to_json`), which
never contains internal detail such as exception text or upstream URLs.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "ErrorCode",
    "InvalidRequest",
    "StreamFailure",
    "WalletDoctorError",
]


class ErrorCode(str, enum.Enum):
    """The error codes of the stream contract, with their HTTP status and retryability."""

    INVALID_ADDRESS = "INVALID_ADDRESS"
    INVALID_REQUEST = "INVALID_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    RATE_LIMIT = "RATE_LIMIT"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    STREAM_EXPIRED = "STREAM_EXPIRED"
    STREAM_TIMEOUT = "STREAM_TIMEOUT"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    @property
    def http_status(self) -> int:
        """Status of the HTTP response when the error happens before a stream starts."""
        return _HTTP_STATUS[self]

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (the client should retry)."""
        return self in _RETRYABLE


_HTTP_STATUS = {
    ErrorCode.INVALID_ADDRESS: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.RATE_LIMIT: 429,
    ErrorCode.TOO_MANY_STREAMS: 429,
    ErrorCode.UPSTREAM_UNAVAILABLE: 503,
    ErrorCode.STREAM_EXPIRED: 410,
    ErrorCode.STREAM_TIMEOUT: 504,
    ErrorCode.SHUTTING_DOWN: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}
_RETRYABLE = frozenset(
    {
        ErrorCode.RATE_LIMIT,
        ErrorCode.TOO_MANY_STREAMS,
        ErrorCode.UPSTREAM_UNAVAILABLE,
        ErrorCode.STREAM_TIMEOUT,
        ErrorCode.SHUTTING_DOWN,
    }
)


class WalletDoctorError(Exception):
    """Base of every error WalletDoctor reports to its clients.

    Args:
        code: the contract's error code.
        message: human text, safe to show (no internals).
        details: extra JSON-serializable facts for the client (e.g. the
            offending parameter), never exception text.
    """

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        """Whether retrying the same request may succeed."""
        return self.code.retryable

    def to_json(self) -> dict[str, Any]:
        """The JSON document of an error response or ``error`` event:
        ``{"error": str, "code": str, "retryable": bool, "details": dict}``."""
        return {
            "error": self.message,
            "code": self.code.value,
            "retryable": self.retryable,
            "details": self.details,
        }


class InvalidRequest(WalletDoctorError):
    """The request cannot be served as sent (HTTP 400, before any stream starts)."""


class StreamFailure(WalletDoctorError):
    """A failure after the stream started: sent as an ``error`` event, then the stream ends."""
