"""The probe's findings per stream, and its verdict: is this path fit for streaming?

A path is **fit** when every stream it carried:

1. was answered ``200`` with ``Content-Type: text/event-stream``;
2. ended with the server's ``complete`` event (an ``error`` event, a cut
   body or a stall leaves the path unproven);
3. had no gap between events longer than the gap threshold (default 25 s:
   the usual proxy idle limit is 30 s, and a longer silence gets a stream
   cut there);
4. showed no buffering (events held back by more than the lag threshold);
5. delivered its heartbeats at the server's cadence, when any were seen.

Each failed rule adds a human reason; :meth:`ProbeReport.to_json` is the
``--json`` document.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from walletdoctor.probe.measures import (
    BufferingFinding,
    GapStats,
    HeartbeatStats,
    arrival_gaps,
    find_buffering,
    gap_stats,
    heartbeat_stats,
)
from walletdoctor.probe.recording import StreamEnd, StreamRecording

__all__ = ["DEFAULT_GAP_THRESHOLD_S", "DEFAULT_LAG_THRESHOLD_S", "ProbeReport", "StreamReport", "Thresholds"]

#: Longest acceptable silence between two events: below the usual 30 s proxy idle limit.
DEFAULT_GAP_THRESHOLD_S = 25.0
#: Longest an event may be held back beyond the stream's fastest delivery
#: before the path counts as buffering. Far above loopback and WAN jitter,
#: far below what a buffering proxy does to a quiet stream.
DEFAULT_LAG_THRESHOLD_S = 2.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the verdict is judged against, in seconds.

    Attributes:
        gap_s: longest acceptable gap between events.
        lag_s: longest acceptable excess delay of an event, and of a heartbeat
            against the server's own spacing.
    """

    gap_s: float = DEFAULT_GAP_THRESHOLD_S
    lag_s: float = DEFAULT_LAG_THRESHOLD_S

    def __post_init__(self) -> None:
        if self.gap_s <= 0 or self.lag_s <= 0:
            raise ValueError("thresholds must be positive")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(slots=True)
class StreamReport:
    """One stream's measures and verdict (see the module docstring for the rules)."""

    recording: StreamRecording
    gaps: GapStats
    buffering: BufferingFinding
    heartbeat: HeartbeatStats
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, recording: StreamRecording, thresholds: Thresholds) -> StreamReport:
        """Measure ``recording`` and judge it."""
        arrivals = recording.arrivals
        report = cls(
            recording=recording,
            gaps=gap_stats(arrival_gaps(arrivals, recording.headers_s), thresholds.gap_s),
            buffering=find_buffering(arrivals, thresholds.lag_s),
            heartbeat=heartbeat_stats(arrivals, thresholds.lag_s),
        )
        report.reasons = report._judge()
        return report

    @property
    def fit(self) -> bool:
        """True when no rule failed."""
        return not self.reasons

    @property
    def first_event_s(self) -> float | None:
        """Seconds from the request to the first event, ``None`` without events."""
        return self.recording.arrivals[0].at_s if self.recording.arrivals else None

    def _judge(self) -> list[str]:
        rec = self.recording
        if rec.end is StreamEnd.REFUSED or rec.end is StreamEnd.CONNECTION_FAILED:
            return [f"no stream: {rec.detail or rec.end.value}"]
        reasons: list[str] = []
        if rec.end is StreamEnd.ERROR_EVENT:
            final = rec.final_data or {}
            reasons.append(f"the server ended the stream with error {final.get('code')}: {final.get('error')}")
        elif rec.end is not StreamEnd.COMPLETE:
            reasons.append(f"the stream ended without its final event after {len(rec.arrivals)} events ({rec.detail or rec.end.value})")
        if self.gaps.over_threshold:
            reasons.append(
                f"{self.gaps.over_threshold} gap(s) longer than {self.gaps.threshold_s:g} s "
                f"(longest {self.gaps.max_s:.1f} s): a proxy idle limit would cut the stream"
            )
        if self.buffering.detected and self.buffering.method == "server timestamps":
            reasons.append(
                f"buffering: {self.buffering.delayed_events} event(s) held back up to "
                f"{self.buffering.max_delay_s:.1f} s beyond the fastest delivery (by the server's timestamps)"
            )
        elif self.buffering.detected:
            reasons.append(
                f"buffering suspected: {self.buffering.delayed_events} of {len(rec.arrivals)} events came in bursts "
                f"after silences up to {self.buffering.max_delay_s:.1f} s (by arrival gaps)"
            )
        if self.heartbeat.regular is False:
            reasons.append(
                f"irregular heartbeats: spacing off by up to {self.heartbeat.max_deviation_s:.1f} s from the server's"
            )
        return reasons

    def to_json(self) -> dict[str, Any]:
        """This stream's part of the ``--json`` document (seconds, rounded to 0.1 ms)."""
        rec = self.recording
        return {
            "url": rec.url,
            "status": rec.status,
            "content_type": rec.content_type,
            "stream_id": rec.stream_id,
            "fit": self.fit,
            "reasons": self.reasons,
            "end": rec.end.value,
            "detail": rec.detail,
            "final": rec.final_data,
            "ttfb_s": _round(rec.headers_s),
            "first_event_s": _round(self.first_event_s),
            "duration_s": _round(rec.duration_s),
            "events": len(rec.arrivals),
            "events_by_type": dict(Counter(a.event for a in rec.arrivals)),
            "trades": rec.trades,
            "gaps": {**_rounded(asdict(self.gaps)), "within_threshold": _round(self.gaps.within_threshold)},
            "buffering": _rounded(asdict(self.buffering)),
            "heartbeat": {**_rounded(asdict(self.heartbeat)), "regular": self.heartbeat.regular},
            "arrivals": [
                {"event": a.event, "id": a.event_id, "at_s": _round(a.at_s), "size": a.size, "server_timestamp": a.server_timestamp}
                for a in rec.arrivals
            ],
        }


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, float) else v for k, v in values.items()}


@dataclass(slots=True)
class ProbeReport:
    """The whole probe: one report per stream, the gaps of all streams pooled, the verdict."""

    url: str
    thresholds: Thresholds
    streams: list[StreamReport]

    @classmethod
    def of(cls, url: str, recordings: list[StreamRecording], thresholds: Thresholds) -> ProbeReport:
        """Measure and judge every recording."""
        return cls(url, thresholds, [StreamReport.of(r, thresholds) for r in recordings])

    @property
    def fit(self) -> bool:
        """True when every stream is fit (and there was at least one)."""
        return bool(self.streams) and all(s.fit for s in self.streams)

    @property
    def reasons(self) -> list[str]:
        """Every stream's reasons, each prefixed with its stream number when there are several."""
        if len(self.streams) == 1:
            return list(self.streams[0].reasons)
        return [f"stream {i + 1}: {reason}" for i, s in enumerate(self.streams) for reason in s.reasons]

    @property
    def pooled_gaps(self) -> GapStats:
        """Gap statistics over the events of every stream."""
        gaps = [g for s in self.streams for g in arrival_gaps(s.recording.arrivals, s.recording.headers_s)]
        return gap_stats(gaps, self.thresholds.gap_s)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: verdict, thresholds, pooled gaps and every stream."""
        pooled = self.pooled_gaps
        return {
            "url": self.url,
            "verdict": "fit" if self.fit else "not fit",
            "fit": self.fit,
            "reasons": self.reasons,
            "thresholds": {"gap_s": self.thresholds.gap_s, "lag_s": self.thresholds.lag_s},
            "gaps": {**_rounded(asdict(pooled)), "within_threshold": _round(pooled.within_threshold)},
            "buffering_detected": any(s.buffering.detected for s in self.streams),
            "streams": [s.to_json() for s in self.streams],
        }
