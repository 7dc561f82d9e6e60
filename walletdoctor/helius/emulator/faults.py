"""Latency model and fault injector of the Helius emulator, both driven by seeded RNGs.

Per request the emulator sleeps a latency drawn around the endpoint's base
(:meth:`FaultInjector.delay`), then draws at most one of three exclusive
faults (:meth:`FaultInjector.draw`):

- ``SERVER_ERROR``: answer 500, 502, 503 or 504 at once, JSON body
  ``{"error": "<reason phrase>"}`` (Helius declares all four, FACTS §1.2).
- ``TIMEOUT``: hang for ``timeout_s`` seconds, then answer 504 (a gateway
  giving up on a stuck backend).
- ``MALFORMED``: HTTP 200 whose body does not parse: the real JSON cut in
  half, or an HTML error page (what a misbehaving proxy in front of an API
  serves).

Independently, :meth:`FaultInjector.omit` drops some transactions from an
enhanced answer, as Helius' history endpoint does under internal timeouts
(FACTS §1.3 "Incomplete pages"; DESIGN §7).

Latency jitter and faults use two RNGs seeded from ``fault_seed``, so the
fault sequence of a test does not change when its latencies do.
"""

from __future__ import annotations

import asyncio
import random
from enum import Enum
from http import HTTPStatus
from typing import TypeVar

import orjson
from aiohttp import web

from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint

__all__ = ["Fault", "FaultInjector", "error_response"]

_T = TypeVar("_T")

_SERVER_ERROR_STATUSES = (500, 502, 503, 504)
_HTML_BODY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


class Fault(Enum):
    """What the injector decided for one request."""

    NONE = "none"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"


def error_response(status: int) -> web.Response:
    """A JSON error answer ``{"error": "<reason phrase>"}`` with ``status``."""
    body = orjson.dumps({"error": HTTPStatus(status).phrase})
    return web.Response(status=status, body=body, content_type="application/json")


class FaultInjector:
    """Draws latencies and faults for one emulator from its live settings."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self._settings = settings
        self.reseed(settings.fault_seed)

    def reseed(self, seed: int) -> None:
        """Restart both RNGs from ``seed`` (the same seed replays the same faults)."""
        self._latency_rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)

    def latency_s(self, endpoint: Endpoint) -> float:
        """One latency draw (seconds) for ``endpoint``: base ± jitter, never negative."""
        base = self._settings.latency_s(endpoint)
        if base <= 0.0:
            return 0.0
        jitter = self._settings.latency_jitter
        return base * (1.0 + self._latency_rng.uniform(-jitter, jitter)) if jitter else base

    async def delay(self, endpoint: Endpoint) -> None:
        """Sleep one latency draw; returns without yielding when the latency is 0."""
        seconds = self.latency_s(endpoint)
        if seconds > 0.0:
            await asyncio.sleep(seconds)

    def draw(self) -> Fault:
        """The fault for one request, per ``server_error_ratio``, ``timeout_ratio``, ``malformed_ratio``."""
        s = self._settings
        if not (s.server_error_ratio or s.timeout_ratio or s.malformed_ratio):
            return Fault.NONE
        roll = self._fault_rng.random()
        if roll < s.server_error_ratio:
            return Fault.SERVER_ERROR
        roll -= s.server_error_ratio
        if roll < s.timeout_ratio:
            return Fault.TIMEOUT
        roll -= s.timeout_ratio
        return Fault.MALFORMED if roll < s.malformed_ratio else Fault.NONE

    def server_error(self) -> web.Response:
        """A 500, 502, 503 or 504 answer, the status drawn uniformly."""
        return error_response(self._fault_rng.choice(_SERVER_ERROR_STATUSES))

    async def hang(self) -> web.Response:
        """Wait ``timeout_s`` seconds (cancellable), then answer 504 Gateway Timeout."""
        await asyncio.sleep(self._settings.timeout_s)
        return error_response(504)

    def malform(self, body: bytes) -> web.Response:
        """HTTP 200 that does not parse: ``body`` (a JSON object or array) cut short, or HTML.

        A strict prefix of a JSON object or array is never valid JSON, so the
        truncated variant always fails to decode.
        """
        if self._fault_rng.random() < 0.5:
            return web.Response(status=200, body=_HTML_BODY, content_type="text/html")
        cut = max(1, len(body) // 2)
        return web.Response(status=200, body=body[:cut], content_type="application/json")

    def omit(self, items: list[_T], *, keep_one: bool) -> list[_T]:
        """``items`` with some silently removed in ``incomplete_ratio`` of the calls, else unchanged.

        An incomplete answer loses between one and a quarter of the items, in
        their order kept. ``keep_one`` keeps at least one item, for history
        pages, where an empty array means "no more history" (FACTS §1.3) and
        would end a client's paging rather than leave a hole.
        """
        ratio = self._settings.incomplete_ratio
        if not ratio or not items or self._fault_rng.random() >= ratio:
            return items
        count = self._fault_rng.randint(1, max(1, len(items) // 4))
        if keep_one:
            count = min(count, len(items) - 1)
        if count <= 0:
            return items
        dropped = set(self._fault_rng.sample(range(len(items)), count))
        return [item for i, item in enumerate(items) if i not in dropped]
