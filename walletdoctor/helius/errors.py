"""Errors of the Helius client, translated at the boundary from aiohttp and JSON errors.

::

    HeliusError
     ├── RateLimited            HTTP 429; ``retry_after`` seconds when Helius sent Retry-After
     ├── UpstreamUnavailable    5xx, timeouts, refused or reset connections
     │    └── CircuitOpen       the breaker is open: refused at once, nothing sent
     ├── InvalidResponse        a body that is not the JSON shape the endpoint documents
     ├── RequestRejected        4xx other than 429: our request is wrong (not retried)
     └── SearchExhausted        too many "Failed to find events" continuations in a row

``RateLimited``, ``UpstreamUnavailable`` and ``InvalidResponse`` are
transient and retried with backoff; after the last attempt the error
propagates and a stream reports ``UPSTREAM_UNAVAILABLE``. ``CircuitOpen``
is raised before the first attempt and never retried; being an
``UpstreamUnavailable``, it reaches streams as the same error code
(see :mod:`walletdoctor.helius.breaker`).
"""

from __future__ import annotations

__all__ = [
    "CircuitOpen",
    "HeliusError",
    "InvalidResponse",
    "RateLimited",
    "RequestRejected",
    "SearchExhausted",
    "UpstreamUnavailable",
]


class HeliusError(Exception):
    """Base of every Helius client error. ``endpoint`` names the call (e.g. ``enhanced_parse``)."""

    def __init__(self, message: str, *, endpoint: str, status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class RateLimited(HeliusError):
    """HTTP 429. ``retry_after`` is the server's Retry-After in seconds, or ``None``."""

    def __init__(self, message: str, *, endpoint: str, retry_after: float | None) -> None:
        super().__init__(message, endpoint=endpoint, status=429)
        self.retry_after = retry_after


class UpstreamUnavailable(HeliusError):
    """Helius answered 5xx, timed out, or could not be reached."""


class CircuitOpen(UpstreamUnavailable):
    """The circuit breaker refused the call without sending it.

    ``retry_after_s``: seconds until the breaker lets a probe through (0 when
    a probe is already in flight and its verdict is awaited).
    """

    def __init__(self, message: str, *, endpoint: str, retry_after_s: float) -> None:
        super().__init__(message, endpoint=endpoint)
        self.retry_after_s = retry_after_s


class InvalidResponse(HeliusError):
    """Helius answered 2xx with a body that is not the documented JSON shape."""


class RequestRejected(HeliusError):
    """Helius refused the request itself (400, 401, 403, 404 without a resume hint)."""


class SearchExhausted(HeliusError):
    """The history endpoint kept answering "Failed to find events" past the continuation bound."""
