"""``/health`` (liveness) and ``/ready`` (readiness), written against small callables.

The checks know nothing of Redis clients, stream registries or circuit
breakers: the application passes callables when it builds
:class:`HealthChecks` and stores it under :data:`HEALTH_CHECKS`.

``GET /health`` is always 200 while the process serves requests::

    {"status": "ok", "version": "0.1.0", "uptime_s": 12.3, "active_streams": 2,
     "dependencies": {"redis": {...}, "upstream": {...}}}

``GET /ready`` is 200 when every dependency is usable, else 503::

    {"status": "ready" | "not ready", "active_streams": 2,
     "redis": {"state": "ok" | "down" | "not configured", "latency_ms": 0.4, "error": "TimeoutError"},
     "upstream": {"state": "ok" | "down", "mode": "helius" | "embedded emulator", "breaker": "closed" | null}}

Redis is down when its ping fails, answers false or takes longer than
``redis_timeout_s``; only the error's class name is reported (a message
may carry the Redis URL and its password). The upstream is down while its
circuit breaker is open: streams would fail at once with
``UPSTREAM_UNAVAILABLE``, so a balancer may prefer another instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from walletdoctor import __version__

__all__ = [
    "DEFAULT_REDIS_TIMEOUT_S",
    "HEALTH_CHECKS",
    "HealthChecks",
    "UpstreamState",
    "health_handler",
    "ready_handler",
]

#: Longest a readiness ping to Redis may take before Redis counts as down, seconds.
DEFAULT_REDIS_TIMEOUT_S: Final = 0.5

_NO_STORE: Final = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class UpstreamState:
    """What the application knows of Helius right now.

    Attributes:
        mode: ``"helius"`` or ``"embedded emulator"``.
        breaker: the circuit breaker's state (``"closed"``, ``"half_open"``,
            ``"open"``; a ``helius.breaker.BreakerState`` fits), or ``None`` when there is no breaker.
    """

    mode: str
    breaker: str | None = None

    @property
    def ok(self) -> bool:
        """False while the breaker is open (every upstream call would be refused)."""
        return self.breaker != "open"


class HealthChecks:
    """The application's liveness and readiness, from callables it is given.

    Args:
        active_streams: returns the number of open streams.
        upstream_state: returns an :class:`UpstreamState`, or just its mode as
            a string when there is no circuit breaker.
        redis_ping: returns a coroutine that is true when Redis answers a
            ``PING`` (``redis.asyncio.Redis.ping``); ``None`` when Redis is not configured.
        redis_timeout_s: limit of one ping, seconds.
        version: reported by ``/health``.
        clock: monotonic seconds, for ``uptime_s`` (tests pass their own).
    """

    def __init__(
        self,
        *,
        active_streams: Callable[[], int],
        upstream_state: Callable[[], UpstreamState | str],
        redis_ping: Callable[[], Awaitable[bool]] | None = None,
        redis_timeout_s: float = DEFAULT_REDIS_TIMEOUT_S,
        version: str = __version__,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if redis_timeout_s <= 0:
            raise ValueError("redis_timeout_s must be positive")
        self._active_streams = active_streams
        self._upstream_state = upstream_state
        self._redis_ping = redis_ping
        self._redis_timeout_s = redis_timeout_s
        self._version = version
        self._clock = clock
        self._started = clock()

    @property
    def uptime_s(self) -> float:
        """Seconds since these checks were built (at application start)."""
        return self._clock() - self._started

    async def redis(self) -> dict[str, Any]:
        """Ping Redis once: ``{"state": "ok", "latency_ms"}``, ``{"state": "down", "error"}``
        or ``{"state": "not configured"}``. Never raises, except ``CancelledError``."""
        if self._redis_ping is None:
            return {"state": "not configured"}
        start = self._clock()
        try:
            async with asyncio.timeout(self._redis_timeout_s):
                answered = await self._redis_ping()
        except TimeoutError:
            return {"state": "down", "error": "TimeoutError"}
        except Exception as exc:  # a probe reports every failure instead of raising it
            return {"state": "down", "error": type(exc).__name__}
        if not answered:
            return {"state": "down", "error": "no PONG"}
        return {"state": "ok", "latency_ms": round((self._clock() - start) * 1000, 3)}

    def upstream(self) -> dict[str, Any]:
        """``{"state": "ok" | "down", "mode", "breaker"}`` from ``upstream_state``."""
        state = self._upstream_state()
        if isinstance(state, str):
            state = UpstreamState(mode=state)
        breaker = None if state.breaker is None else str(state.breaker)  # a StrEnum renders as its value
        return {"state": "ok" if state.ok else "down", "mode": state.mode, "breaker": breaker}

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, body)`` for ``/ready``: ready when Redis is ok or not configured and the upstream is ok."""
        redis = await self.redis()
        upstream = self.upstream()
        ready = redis["state"] != "down" and upstream["state"] == "ok"
        body = {
            "status": "ready" if ready else "not ready",
            "active_streams": self._active_streams(),
            "redis": redis,
            "upstream": upstream,
        }
        return ready, body

    async def liveness(self) -> dict[str, Any]:
        """The body of ``/health``: status, version, uptime, active streams and dependency state."""
        return {
            "status": "ok",
            "version": self._version,
            "uptime_s": round(self.uptime_s, 3),
            "active_streams": self._active_streams(),
            "dependencies": {"redis": await self.redis(), "upstream": self.upstream()},
        }


async def health_handler(request: web.Request) -> web.Response:
    """``GET /health``: liveness, always 200 while the process answers."""
    return web.json_response(await request.app[HEALTH_CHECKS].liveness(), headers=_NO_STORE)


async def ready_handler(request: web.Request) -> web.Response:
    """``GET /ready``: 200 when the dependencies are usable, 503 otherwise (same JSON body)."""
    ready, body = await request.app[HEALTH_CHECKS].readiness()
    return web.json_response(body, status=200 if ready else 503, headers=_NO_STORE)


#: Where the application keeps its :class:`HealthChecks` (re-exported by ``walletdoctor.appkeys``).
HEALTH_CHECKS: Final = web.AppKey("health_checks", HealthChecks)
