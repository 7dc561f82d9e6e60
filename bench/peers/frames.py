"""The events every Python peer serves, and the query of ``GET /stream``.

Query parameters (all optional):

- ``events`` (default 0): number of ``trades`` events; 0 makes an idle
  stream that only sends heartbeats.
- ``size`` (default 50,000): bytes of each ``trades`` frame, framing
  included (the bench passes the size of WalletDoctor's own frames).
- ``delay`` (default 0): seconds between ``connected`` and the first
  ``trades`` event (the fan-out's stand-in for WalletDoctor's upstream).
- ``max_s`` (default 600): longest an idle stream stays open, so that no
  loop runs unbounded.

The frames follow WalletDoctor's wire format (``id:``, ``event:``, one
``data:`` line of compact JSON, blank line). ``trades`` frames are built
once per process and size (under a lock, so that a pool of threads does
not build them 200 times at once), before the stream's ``delay``, and then
written to every stream: what a server that encodes once can do.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["StreamRequest", "connected_frame", "heartbeat_frame", "trades_frames", "trades_payloads"]

#: Longest any peer stream stays open, seconds.
DEFAULT_MAX_S = 600.0
DEFAULT_SIZE = 50_000
_MAX_EVENTS = 10_000
_MAX_SIZE = 10_000_000
_WALLET = "BenchWa11et1111111111111111111111111111111"

_TRADE = {
    "signature": "5g5rkbqii8rkHfgC8CWLDB2bBzKeoXcqmjyFbMvxUW9xXEEHnFc1QRqiG9eEcxdmLk6XgjVpJRnwYqqbWZKg3eBP",
    "slot": 349787167,
    "timestamp": 1751126222,
    "source": "RAYDIUM",
    "side": "sell",
    "token_in": "lub",
    "token_out": "SOL",
    "token_in_mint": "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon",
    "token_out_mint": "So11111111111111111111111111111111111111112",
    "amount_in": "1986656.546333",
    "amount_out": "0.077849895",
    "price": "0.0000000391863883788551605",
    "value_usd": None,
    "fee_sol": "0.020783498",
    "pnl_usd": None,
}


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """What a client asked ``GET /stream`` for (see the module docstring).

    Raises:
        ValueError: a parameter is not a number or is out of range.
    """

    events: int = 0
    size: int = DEFAULT_SIZE
    delay: float = 0.0
    max_s: float = DEFAULT_MAX_S

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> StreamRequest:
        """Read the query; missing parameters take their defaults."""
        request = cls(
            events=int(query.get("events", 0)),
            size=int(query.get("size", DEFAULT_SIZE)),
            delay=float(query.get("delay", 0.0)),
            max_s=float(query.get("max_s", DEFAULT_MAX_S)),
        )
        if not (0 <= request.events <= _MAX_EVENTS and 200 <= request.size <= _MAX_SIZE):
            raise ValueError("events must be 0..10000 and size 200..10000000")
        if not (0 <= request.delay <= request.max_s <= DEFAULT_MAX_S):
            raise ValueError("need 0 <= delay <= max_s <= 600")
        return request


def connected_frame(stream_id: str) -> bytes:
    """``retry:`` hint and the ``connected`` event of stream ``stream_id``."""
    return b'retry: 3000\nid: %s:1\nevent: connected\ndata: {"stream_id":"%s","wallet":"%s","timestamp":%.3f,"resumed":false}\n\n' % (
        stream_id.encode(),
        stream_id.encode(),
        _WALLET.encode(),
        time.time(),
    )


def heartbeat_frame() -> bytes:
    """A ``heartbeat`` event (no id, as WalletDoctor's)."""
    return b'event: heartbeat\ndata: {"timestamp":%.3f}\n\n' % time.time()


def _payload(size: int, batch: int, events: int) -> str:
    """Compact JSON of a ``trades`` event whose whole frame is ``size`` bytes."""
    header = len(f"id: fanout:{batch + 1}\nevent: trades\ndata: ") + 2
    body: dict[str, object] = {"trades": [], "batch_num": batch + 1, "total_yielded": 0, "has_more": batch + 1 < events}
    trade_bytes = len(json.dumps(_TRADE, separators=(",", ":"))) + 1
    count = max(0, (size - header - 120) // trade_bytes)
    body["trades"] = [_TRADE] * count
    body["total_yielded"] = count * (batch + 1)
    body["pad"] = ""
    text = json.dumps(body, separators=(",", ":"))
    pad = size - header - len(text)
    if pad < 0:
        raise ValueError(f"size {size} is too small for a trades frame")
    body["pad"] = "x" * pad
    return json.dumps(body, separators=(",", ":"))


_BUILT: dict[tuple[str, int, int], tuple[str, ...] | tuple[bytes, ...]] = {}
_BUILDING = threading.Lock()


def trades_payloads(size: int, events: int) -> tuple[str, ...]:
    """The JSON text of each ``trades`` event (for peers that encode per stream), made once."""
    with _BUILDING:
        key = ("json", size, events)
        if key not in _BUILT:
            _BUILT[key] = tuple(_payload(size, batch, events) for batch in range(events))
        return _BUILT[key]  # type: ignore[return-value]


def trades_frames(size: int, events: int) -> tuple[bytes, ...]:
    """The complete ``trades`` frames, ``size`` bytes each, encoded once per process."""
    payloads = trades_payloads(size, events)
    with _BUILDING:
        key = ("frames", size, events)
        if key not in _BUILT:
            _BUILT[key] = tuple(
                f"id: fanout:{batch + 1}\nevent: trades\ndata: {payload}\n\n".encode()
                for batch, payload in enumerate(payloads)
            )
        return _BUILT[key]  # type: ignore[return-value]
