"""Errors of the Birdeye client, translated at the boundary from aiohttp and JSON errors.

::

    BirdeyeError
     ├── RateLimited        HTTP 429; ``retry_after`` seconds when Birdeye sent Retry-After
     ├── Unavailable        5xx, timeouts, refused or reset connections
     ├── InvalidResponse    2xx whose body is not ``{"success": true, "data": {"items": [...]}}``
     └── Rejected           4xx other than 429: a bad key (401), a plan without the
                            endpoint (403), bad parameters (400); not retried

``RateLimited``, ``Unavailable`` and ``InvalidResponse`` are transient and
retried with backoff; after the last attempt the error propagates (the
price sources of :mod:`walletdoctor.analytics.prices` turn it into an
unknown price and a warning, never a failed stream). Birdeye
documents exactly these statuses for ``/defi/history_price`` (200, 400, 401,
403, 429, 500: docs.birdeye.so reference "Price - Historical"). Messages
carry the status and Birdeye's own ``message`` text, never the API key.
"""

from __future__ import annotations

__all__ = ["BirdeyeError", "InvalidResponse", "RateLimited", "Rejected", "Unavailable"]


class BirdeyeError(Exception):
    """Base of every Birdeye client error; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(BirdeyeError):
    """HTTP 429. ``retry_after`` is the server's Retry-After in seconds, or ``None``."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class Unavailable(BirdeyeError):
    """Birdeye answered 5xx, timed out, or could not be reached."""


class InvalidResponse(BirdeyeError):
    """Birdeye answered 2xx with a body that is not the documented JSON shape (or ``success: false``)."""


class Rejected(BirdeyeError):
    """Birdeye refused the request itself (400, 401, 403, 404 ...): retrying cannot help."""
