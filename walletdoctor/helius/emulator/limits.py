"""The emulator's per-key rate limit: one 1-second window per Helius rate-limit class.

Helius limits requests per second per API key, separately for standard RPC
and for "DAS & Enhanced APIs" (FACTS §1.6), and answers a request over the
limit at once with HTTP 429 and the JSON-RPC-shaped body
``{"jsonrpc":"2.0","error":{"code":-32005,"message":"Rate limit exceeded"}}``
on both hosts. Rejected requests do not use up the window. The emulator
keeps one window per class for all keys together: tests and benchmarks use
one key.

A hand-written window rather than a library limiter (aiolimiter is a leaky
bucket that makes callers wait): the emulator must refuse, not delay, and
report how long until the next request would pass.
"""

from __future__ import annotations

import math
import time
from collections import deque

from aiohttp import web

from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint

__all__ = ["RATE_LIMIT_BODY", "RateLimiter", "rate_limited_response"]

#: Helius' documented 429 body (OpenAPI example, FACTS §1.6), on both hosts.
RATE_LIMIT_BODY = b'{"jsonrpc":"2.0","error":{"code":-32005,"message":"Rate limit exceeded"}}'

_WINDOW_S = 1.0


class _Window:
    """Requests admitted in the last second, as a sliding log or a fixed-second counter."""

    __slots__ = ("_admitted", "_count", "_mode", "_second")

    def __init__(self) -> None:
        self._admitted: deque[float] = deque()
        self._mode = ""
        self._second = -1
        self._count = 0

    def admit(self, limit: int, mode: str, now: float) -> float:
        """Admit one request at ``now``: 0.0 if it passes, else seconds until one would."""
        if mode != self._mode:  # switched at run time: start the new window empty
            self.clear()
            self._mode = mode
        if mode == "fixed":
            second = math.floor(now)
            if second != self._second:
                self._second, self._count = second, 0
            if self._count >= limit:
                return second + _WINDOW_S - now
            self._count += 1
            return 0.0
        admitted = self._admitted
        horizon = now - _WINDOW_S
        while admitted and admitted[0] <= horizon:
            admitted.popleft()
        if len(admitted) >= limit:
            # After lowering the limit at run time the log may hold more than
            # ``limit`` entries; the request passes once enough have expired.
            return admitted[len(admitted) - limit] - horizon
        admitted.append(now)
        return 0.0

    def clear(self) -> None:
        self._admitted.clear()
        self._second, self._count = -1, 0


class RateLimiter:
    """The rate-limit windows of one emulator, reading limits from its live settings."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self._rpc = _Window()
        self._enhanced = _Window()

    def admit(self, endpoint: Endpoint, now: float | None = None) -> float | None:
        """Count one request to ``endpoint``.

        Returns:
            ``None`` if it is within the limit, else the seconds (> 0) until
            a request of that class would pass. ``now`` is a
            ``time.monotonic()`` reading, for tests.
        """
        settings = self._settings
        if endpoint is Endpoint.RPC_SIGNATURES or endpoint is Endpoint.RPC_OTHER:
            limit, window = settings.rpc_rps, self._rpc
        else:
            limit, window = settings.enhanced_rps, self._enhanced
        if limit <= 0:
            return None
        wait = window.admit(limit, settings.rate_limit_window, time.monotonic() if now is None else now)
        return wait if wait > 0.0 else None

    def reset(self) -> None:
        """Forget every admitted request (both windows start empty)."""
        self._rpc.clear()
        self._enhanced.clear()


def rate_limited_response(wait_s: float, retry_after: bool) -> web.Response:
    """The 429 answer; ``Retry-After`` is ``wait_s`` rounded up to whole seconds (at least 1)."""
    headers = {"Retry-After": str(max(1, math.ceil(wait_s)))} if retry_after else None
    return web.Response(status=429, body=RATE_LIMIT_BODY, content_type="application/json", headers=headers)
