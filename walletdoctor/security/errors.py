"""Refusals of the security layer: who may call, how often, how many streams at once.

::

    WalletDoctorError (walletdoctor.errors)
     └── SecurityError              .headers: extra response headers for the refusal
          ├── Unauthorized          UNAUTHORIZED 401, ``WWW-Authenticate: Bearer``
          │                         (no key where one is required, or an unknown key)
          ├── LimitExceeded         429 with ``Retry-After`` (.retry_after_s, whole seconds)
          │    ├── RateLimited      RATE_LIMIT: over the per-key requests-per-window limit
          │    └── TooManyStreams   TOO_MANY_STREAMS: every concurrent-stream slot of the key is taken
          └── LimitStoreUnavailable UPSTREAM_UNAVAILABLE 503 with ``Retry-After``: the shared
                                    store (Redis) refused, failed or missed its deadline

Every class is a :class:`~walletdoctor.errors.WalletDoctorError`, so the
application's error middleware already answers any of them with the right
status and JSON body (DESIGN section 1). The security middleware answers them
itself to add :attr:`SecurityError.headers` (``Retry-After``,
``WWW-Authenticate``), which the generic error response does not carry.

No error here ever holds a presented API key, in its message, its details or
its headers: at most the non-secret ``key_id`` (DESIGN section 5, "keys never
appear in logs").
"""

from __future__ import annotations

from typing import Any

from walletdoctor.errors import ErrorCode, WalletDoctorError

__all__ = [
    "STORE_RETRY_AFTER_S",
    "LimitExceeded",
    "LimitStoreUnavailable",
    "RateLimited",
    "SecurityError",
    "TooManyStreams",
    "Unauthorized",
]

#: ``Retry-After`` of a 503 when the shared store is down: long enough that
#: clients do not hammer a recovering Redis, short enough to notice recovery.
STORE_RETRY_AFTER_S = 5


class SecurityError(WalletDoctorError):
    """Base of the security layer's refusals; :attr:`headers` go on the HTTP response."""

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (``{}`` unless a subclass needs some)."""
        return {}


class Unauthorized(SecurityError):
    """No API key where one is required, or a key that matches no stored hash (401).

    Args:
        message: safe human text ("API key required", "invalid API key").
        reason: ``"missing"`` or ``"invalid"``, echoed in ``details.reason``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(ErrorCode.UNAUTHORIZED, message, {"reason": reason})

    @property
    def headers(self) -> dict[str, str]:
        # RFC 9110 section 15.5.2: a 401 carries a challenge naming the scheme.
        return {"WWW-Authenticate": 'Bearer realm="walletdoctor"'}


class LimitExceeded(SecurityError):
    """A per-key limit refused the request (429); retry after :attr:`retry_after_s` seconds.

    Args:
        code: ``RATE_LIMIT`` or ``TOO_MANY_STREAMS``.
        message: safe human text.
        retry_after_s: whole seconds, at least 1 (``Retry-After`` delay-seconds form).
        details: facts about the limit (its size), merged with ``retry_after_s``.
    """

    def __init__(
        self, code: ErrorCode, message: str, *, retry_after_s: int, details: dict[str, Any] | None = None
    ) -> None:
        self.retry_after_s = max(1, int(retry_after_s))
        super().__init__(code, message, {**(details or {}), "retry_after_s": self.retry_after_s})

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RateLimited(LimitExceeded):
    """Over ``limit`` requests in the moving ``window_s``-second window (``RATE_LIMIT``)."""

    def __init__(self, *, retry_after_s: int, limit: int, window_s: int) -> None:
        super().__init__(
            ErrorCode.RATE_LIMIT,
            f"rate limit exceeded: at most {limit} requests per {window_s} s",
            retry_after_s=retry_after_s,
            details={"limit": limit, "window_s": window_s},
        )


class TooManyStreams(LimitExceeded):
    """Every one of the key's ``max_streams`` concurrent-stream slots is taken (``TOO_MANY_STREAMS``)."""

    def __init__(self, *, retry_after_s: int, max_streams: int) -> None:
        super().__init__(
            ErrorCode.TOO_MANY_STREAMS,
            f"too many concurrent streams: at most {max_streams} per API key",
            retry_after_s=retry_after_s,
            details={"max_streams": max_streams},
        )


class LimitStoreUnavailable(SecurityError):
    """The store behind rate limits and stream leases (Redis) failed or was too slow (503).

    Raised instead of waiting: every store operation runs under a deadline.
    The lower-level exception is kept as ``__cause__`` for logs; its text never
    reaches the client.

    Args:
        operation: what was attempted, e.g. ``"rate limit check"`` (safe to show).
    """

    def __init__(self, operation: str) -> None:
        super().__init__(ErrorCode.UPSTREAM_UNAVAILABLE, f"{operation} unavailable: shared state store unreachable")
        self.operation = operation

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(STORE_RETRY_AFTER_S)}
