"""What the probe measures in a recorded stream: gaps, delivery delay (buffering), heartbeats.

Pure functions over :class:`~walletdoctor.probe.recording.EventArrival`
lists; every time is in seconds.

Buffering is judged from the events' own ``timestamp`` (the server's clock
when it built ``connected``, ``progress`` and ``heartbeat`` events): each
such event's *delay* is its arrival on the client's clock minus its stamp.
The two clocks differ by an unknown offset plus the network's latency, so
the smallest delay of the stream stands for that baseline and an event's
*excess delay* is its delay above it. A path that passes events on as they
come keeps excess delays near zero; a buffering proxy holds events until its
buffer fills or the body ends, and the events it held arrive late, in a
burst. Without at least two stamped events the probe falls back to arrival
gaps alone: most events arriving in bursts right after long silences.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from walletdoctor.probe.recording import EventArrival

__all__ = [
    "BURST_GAP_S",
    "BufferingFinding",
    "GapStats",
    "HeartbeatStats",
    "arrival_gaps",
    "find_buffering",
    "gap_stats",
    "heartbeat_stats",
    "percentile",
]

#: Events closer than this to the previous one arrived in the same burst.
BURST_GAP_S = 0.010
#: Events in a burst, the first included, before it counts as one.
_MIN_BURST = 3


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0 < p <= 100) by the nearest-rank method, ``None`` when empty.

    Nearest rank returns a value that was observed (no interpolation between
    two gaps that never happened).
    """
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p must be within (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def arrival_gaps(arrivals: Sequence[EventArrival], headers_s: float | None) -> list[float]:
    """Each event's gap since the previous event (the first's since the response headers,
    when ``headers_s`` is given), seconds."""
    gaps: list[float] = []
    previous = headers_s
    for arrival in arrivals:
        if previous is not None:
            gaps.append(max(0.0, arrival.at_s - previous))
        previous = arrival.at_s
    return gaps


@dataclass(frozen=True, slots=True)
class GapStats:
    """Arrival gaps of a stream.

    Attributes:
        count: gaps measured (one per event).
        p50_s, p95_s, max_s: their median, 95th percentile and maximum, ``None`` without gaps.
        threshold_s: the idle limit judged against (a proxy's idle timeout).
        over_threshold: gaps longer than ``threshold_s``.
        within_threshold: share of gaps no longer than ``threshold_s`` (0..1), ``None`` without gaps.
    """

    count: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None
    threshold_s: float
    over_threshold: int

    @property
    def within_threshold(self) -> float | None:
        return None if not self.count else (self.count - self.over_threshold) / self.count


def gap_stats(gaps: Sequence[float], threshold_s: float) -> GapStats:
    """Statistics of ``gaps`` (from :func:`arrival_gaps`, of one stream or several)."""
    return GapStats(
        count=len(gaps),
        p50_s=percentile(gaps, 50),
        p95_s=percentile(gaps, 95),
        max_s=max(gaps) if gaps else None,
        threshold_s=threshold_s,
        over_threshold=sum(1 for gap in gaps if gap > threshold_s),
    )


@dataclass(frozen=True, slots=True)
class BufferingFinding:
    """Whether the path held events back.

    Attributes:
        detected: ``True`` buffering seen, ``False`` not seen, ``None`` when
            the stream had too few events to tell.
        method: ``"server timestamps"``, ``"arrival gaps"`` or ``"none"``.
        threshold_s: the excess delay above which an event counts as held back.
        delayed_events: events held back longer than ``threshold_s``.
        p95_delay_s, max_delay_s: excess delays of the stamped events (server
            timestamps), or the silences before bursts (arrival gaps).
        sampled_events: events the finding rests on.
    """

    detected: bool | None
    method: str
    threshold_s: float
    delayed_events: int = 0
    p95_delay_s: float | None = None
    max_delay_s: float | None = None
    sampled_events: int = 0


def find_buffering(arrivals: Sequence[EventArrival], threshold_s: float) -> BufferingFinding:
    """Judge buffering from the events' own timestamps, or from arrival gaps without them."""
    stamped = [a for a in arrivals if a.server_timestamp is not None]
    if len(stamped) >= 2:
        delays = [a.wall_s - a.server_timestamp for a in stamped if a.server_timestamp is not None]
        baseline = min(delays)
        excess = [delay - baseline for delay in delays]
        delayed = sum(1 for value in excess if value > threshold_s)
        return BufferingFinding(
            detected=delayed > 0,
            method="server timestamps",
            threshold_s=threshold_s,
            delayed_events=delayed,
            p95_delay_s=percentile(excess, 95),
            max_delay_s=max(excess),
            sampled_events=len(stamped),
        )
    if len(arrivals) < 2 * _MIN_BURST:
        return BufferingFinding(detected=None, method="none", threshold_s=threshold_s, sampled_events=len(arrivals))
    return _bursts(arrivals, threshold_s)


def _bursts(arrivals: Sequence[EventArrival], threshold_s: float) -> BufferingFinding:
    """Events that arrived in bursts (gaps under :data:`BURST_GAP_S`) right after a silence
    longer than ``threshold_s``; buffering when they are at least half of all events."""
    gaps = arrival_gaps(arrivals, None)
    in_bursts = 0
    silences: list[float] = []
    run, silence = 0, 0.0
    for gap in [math.inf, *gaps]:
        if gap <= BURST_GAP_S and run:
            run += 1
            continue
        if run >= _MIN_BURST:
            in_bursts += run
            silences.append(silence)
        run, silence = (1, gap) if threshold_s < gap < math.inf else (0, 0.0)
    if run >= _MIN_BURST:
        in_bursts += run
        silences.append(silence)
    return BufferingFinding(
        detected=in_bursts * 2 >= len(arrivals),
        method="arrival gaps",
        threshold_s=threshold_s,
        delayed_events=in_bursts,
        p95_delay_s=percentile(silences, 95),
        max_delay_s=max(silences) if silences else None,
        sampled_events=len(arrivals),
    )


@dataclass(frozen=True, slots=True)
class HeartbeatStats:
    """How heartbeats came through.

    Attributes:
        count: heartbeats received.
        interval_s: median quiet time before a heartbeat (the server's
            heartbeat interval, as seen by the client), ``None`` without one.
        max_deviation_s: largest difference between the time from one
            heartbeat to the next on the client's clock and on the server's
            stamps, ``None`` with fewer than two stamped heartbeats.
        tolerance_s: the deviation allowed.
        regular: ``max_deviation_s <= tolerance_s``; ``None`` when unknown.
    """

    count: int
    interval_s: float | None
    max_deviation_s: float | None
    tolerance_s: float

    @property
    def regular(self) -> bool | None:
        return None if self.max_deviation_s is None else self.max_deviation_s <= self.tolerance_s


def heartbeat_stats(arrivals: Sequence[EventArrival], tolerance_s: float) -> HeartbeatStats:
    """Heartbeat count, interval and regularity in ``arrivals``."""
    quiet: list[float] = []
    stamped: list[EventArrival] = []
    for index, arrival in enumerate(arrivals):
        if arrival.event != "heartbeat":
            continue
        if index:
            quiet.append(arrival.at_s - arrivals[index - 1].at_s)
        if arrival.server_timestamp is not None:
            stamped.append(arrival)
    deviations = [
        abs((b.at_s - a.at_s) - (b.server_timestamp - a.server_timestamp))
        for a, b in pairwise(stamped)
        if a.server_timestamp is not None and b.server_timestamp is not None
    ]
    return HeartbeatStats(
        count=sum(1 for a in arrivals if a.event == "heartbeat"),
        interval_s=statistics.median(quiet) if quiet else None,
        max_deviation_s=max(deviations) if deviations else None,
        tolerance_s=tolerance_s,
    )
