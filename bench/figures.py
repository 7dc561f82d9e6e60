"""Small numeric helpers shared by the scenarios: percentiles, units, heartbeat accounting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["HeartbeatTally", "mib", "percentile", "tally_heartbeats"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mib(size: float) -> float:
    """Bytes to MiB."""
    return size / 1024 / 1024


@dataclass(frozen=True, slots=True)
class HeartbeatTally:
    """Heartbeats of a set of streams (PEER_BENCH A's accounting).

    A stream's k-th heartbeat is due at ``connected + k * interval``. It is
    late when it arrives more than ``late_s`` after that; missed when it
    was due (``late_s`` of grace included) before the end of the window
    and never arrived. ``received`` counts every heartbeat seen by the end
    of the window, so it can exceed ``expected`` (heartbeats within the
    last ``late_s``, and timers that start before the client sees
    ``connected``).
    """

    received: int
    expected: int
    late: int
    missed: int
    max_lateness_s: float


def tally_heartbeats(
    connected_at: Sequence[float | None],
    heartbeats: Sequence[Sequence[float]],
    *,
    interval_s: float,
    late_s: float,
    window_end: float,
) -> HeartbeatTally:
    """Count heartbeats against their due times for every connected stream (times: monotonic seconds)."""
    received = expected = late = missed = 0
    worst = 0.0
    for connected, beats in zip(connected_at, heartbeats, strict=True):
        if connected is None:
            continue
        received += sum(1 for beat in beats if beat <= window_end)
        due_count = max(0, math.floor((window_end - late_s - connected) / interval_s))
        expected += due_count
        for k in range(1, due_count + 1):
            if k > len(beats):
                missed += 1
                continue
            lateness = beats[k - 1] - (connected + k * interval_s)
            worst = max(worst, lateness)
            if lateness > late_s:
                late += 1
    return HeartbeatTally(received, expected, late, missed, worst)
