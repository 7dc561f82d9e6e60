"""What the emulator has served: counters per endpoint class and per wallet, and a recent-request log.

Tests read it in-process (``app[EMULATOR_STATS]``) and benchmarks over HTTP
(``GET /_emulator/stats``, :meth:`EmulatorStats.to_json`). A request counts
as in flight from the moment its handler starts until it ends by any path:
answered, rejected, or cancelled because the client went away; a cancelled
request is recorded with the status :data:`CLIENT_CLOSED` (499, nginx's
"client closed request"), so "the client left and nothing kept running" is
``in_flight == 0`` plus no later entry in the log.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from walletdoctor.helius.emulator.settings import Endpoint

__all__ = ["CLIENT_CLOSED", "EmulatorStats", "EndpointStats", "RequestRecord", "WalletRequests"]

#: Status recorded for a request whose client disconnected before the answer.
CLIENT_CLOSED = 499


class RequestRecord(NamedTuple):
    """One finished request. ``timestamp``: unix seconds when it arrived; ``seq`` increases by 1 per request."""

    seq: int
    timestamp: float
    endpoint: str
    wallet: str | None
    status: int


@dataclass
class EndpointStats:
    """Counters of one endpoint class. ``by_status`` counts finished requests per HTTP status."""

    by_status: Counter[int] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def requests(self) -> int:
        """Finished requests, whatever their status."""
        return sum(self.by_status.values())

    @property
    def rate_limited(self) -> int:
        """Requests answered 429."""
        return self.by_status[429]

    def to_json(self) -> dict[str, Any]:
        """``{"requests", "rate_limited", "in_flight", "max_in_flight", "by_status": {"200": n, ...}}``."""
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
        }


@dataclass
class WalletRequests:
    """Requests naming one wallet: ``signatures`` (getSignaturesForAddress) and ``history`` pages."""

    signatures: int = 0
    history: int = 0


class EmulatorStats:
    """Counters and request log of one emulator. ``log_size``: entries kept (oldest dropped first)."""

    def __init__(self, log_size: int = 1000) -> None:
        self.endpoints: dict[Endpoint, EndpointStats] = {e: EndpointStats() for e in Endpoint}
        self.wallets: dict[str, WalletRequests] = {}
        self.log: deque[RequestRecord] = deque(maxlen=log_size)
        self._seq = 0

    @property
    def in_flight(self) -> int:
        """Requests being handled now, all endpoint classes together."""
        return sum(e.in_flight for e in self.endpoints.values())

    @property
    def last_seq(self) -> int:
        """``seq`` of the latest finished request (0 before any)."""
        return self._seq

    def begin(self, endpoint: Endpoint) -> float:
        """Mark one request to ``endpoint`` in flight; returns its arrival time for :meth:`end`."""
        stats = self.endpoints[endpoint]
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight
        return time.time()

    def end(self, endpoint: Endpoint, wallet: str | None, status: int, arrived: float) -> None:
        """Record the end of a request :meth:`begin` started (call it from a ``finally``)."""
        stats = self.endpoints[endpoint]
        stats.in_flight -= 1
        stats.by_status[status] += 1
        if wallet is not None:
            if endpoint is Endpoint.RPC_SIGNATURES:
                self._wallet(wallet).signatures += 1
            elif endpoint is Endpoint.ENHANCED_HISTORY:
                self._wallet(wallet).history += 1
        self._seq += 1
        self.log.append(RequestRecord(self._seq, arrived, endpoint.value, wallet, status))

    def requests_since(self, seq: int) -> list[RequestRecord]:
        """Logged requests with ``seq`` greater than ``seq`` (as far as the log reaches back)."""
        return [record for record in self.log if record.seq > seq]

    def resize_log(self, log_size: int) -> None:
        """Keep ``log_size`` entries from now on (the newest ones survive a shrink)."""
        self.log = deque(self.log, maxlen=log_size)

    def reset(self) -> None:
        """Zero every counter and clear the log.

        Requests in flight stay counted (they will still end), and
        ``max_in_flight`` restarts from them, so counters never go negative.
        """
        for stats in self.endpoints.values():
            stats.by_status.clear()
            stats.max_in_flight = stats.in_flight
        self.wallets.clear()
        self.log.clear()

    def to_json(self, log_limit: int | None = None) -> dict[str, Any]:
        """A JSON-ready snapshot: ``{"in_flight", "last_seq", "endpoints": {class: {...}},
        "wallets": {address: {"signatures", "history"}}, "log": [{"seq", "timestamp", "endpoint",
        "wallet", "status"}, ...]}`` with the newest ``log_limit`` log entries (all when ``None``)."""
        log = list(self.log)
        if log_limit is not None:
            log = log[len(log) - log_limit :] if log_limit > 0 else []
        return {
            "in_flight": self.in_flight,
            "last_seq": self._seq,
            "endpoints": {e.value: s.to_json() for e, s in self.endpoints.items()},
            "wallets": {a: {"signatures": w.signatures, "history": w.history} for a, w in self.wallets.items()},
            "log": [r._asdict() for r in log],
        }

    def _wallet(self, address: str) -> WalletRequests:
        requests = self.wallets.get(address)
        if requests is None:
            requests = self.wallets[address] = WalletRequests()
        return requests
