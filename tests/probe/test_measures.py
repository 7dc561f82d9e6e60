"""Gaps, percentiles, buffering and heartbeat measures over hand-made arrival lists."""

from __future__ import annotations

import pytest

from walletdoctor.probe.measures import (
    arrival_gaps,
    find_buffering,
    gap_stats,
    heartbeat_stats,
    percentile,
)
from walletdoctor.probe.recording import EventArrival

#: The client's wall clock runs this far ahead of the server's in these tests.
CLOCK_OFFSET = 1000.0
WALL_START = 1_750_000_000.0


def arrival(event: str, at: float, *, stamped_at: float | None = None, stamp: bool = False) -> EventArrival:
    """An event arriving at ``at`` s; stamped by the server at ``stamped_at`` (default: ``at``) when ``stamp``."""
    server = None
    if stamp or stamped_at is not None:
        server = WALL_START - CLOCK_OFFSET + (at if stamped_at is None else stamped_at)
    return EventArrival(event=event, event_id="", at_s=at, wall_s=WALL_START + at, size=10, server_timestamp=server)


def test_percentile_is_nearest_rank() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == 5.0
    assert percentile(values, 20) == 1.0
    assert percentile(values, 100) == 5.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_gaps_count_the_first_event_from_the_response_headers() -> None:
    arrivals = [arrival("connected", 0.5), arrival("progress", 1.0), arrival("trades", 31.0)]
    assert arrival_gaps(arrivals, headers_s=0.2) == pytest.approx([0.3, 0.5, 30.0])
    assert arrival_gaps(arrivals, headers_s=None) == pytest.approx([0.5, 30.0])
    stats = gap_stats(arrival_gaps(arrivals, 0.2), threshold_s=25.0)
    assert stats.count == 3 and stats.over_threshold == 1
    assert stats.max_s == pytest.approx(30.0) and stats.p50_s == pytest.approx(0.5)
    assert stats.within_threshold == pytest.approx(2 / 3)
    assert gap_stats([], 25.0).within_threshold is None


def test_prompt_delivery_is_not_buffering_whatever_the_clock_offset() -> None:
    arrivals = [arrival("connected", 0.0, stamp=True)] + [arrival("heartbeat", t, stamp=True) for t in (10.0, 20.0, 30.0)]
    finding = find_buffering(arrivals, threshold_s=2.0)
    assert finding.method == "server timestamps"
    assert finding.detected is False and finding.delayed_events == 0
    assert finding.max_delay_s == pytest.approx(0.0, abs=1e-6)


def test_events_held_back_and_released_in_a_burst_are_buffering() -> None:
    # Stamped every 0.5 s, all delivered together at 4 s (a proxy releasing its buffer).
    arrivals = [arrival("heartbeat", 4.0 + i * 0.001, stamped_at=i * 0.5) for i in range(8)]
    finding = find_buffering(arrivals, threshold_s=2.0)
    assert finding.detected is True
    assert finding.max_delay_s == pytest.approx(3.5, abs=0.01)
    assert finding.delayed_events == 3  # stamped at 0, 0.5 and 1.0 s: held more than 2 s longer than the last
    assert finding.sampled_events == 8


def test_unstamped_events_are_ignored_by_the_timestamp_method() -> None:
    arrivals = [arrival("connected", 0.0, stamp=True), arrival("trades", 50.0), arrival("heartbeat", 60.0, stamp=True)]
    finding = find_buffering(arrivals, threshold_s=2.0)
    assert finding.sampled_events == 2 and finding.detected is False


def test_without_timestamps_bursts_after_silences_are_buffering() -> None:
    bursty = [arrival("progress", t + i * 0.001) for t in (3.0, 6.0, 9.0) for i in range(4)]
    finding = find_buffering(bursty, threshold_s=2.0)
    assert finding.method == "arrival gaps"
    assert finding.detected is True and finding.delayed_events == 8  # the first burst follows no silence
    steady = [arrival("progress", i * 0.3) for i in range(12)]
    assert find_buffering(steady, threshold_s=2.0).detected is False


def test_too_few_events_to_judge() -> None:
    finding = find_buffering([arrival("connected", 0.1)], threshold_s=2.0)
    assert finding.detected is None and finding.method == "none"


def test_heartbeats_at_the_server_cadence_are_regular() -> None:
    arrivals = [arrival("connected", 0.0, stamp=True)]
    arrivals += [arrival("heartbeat", 10.0 * i + 0.01, stamp=True) for i in range(1, 5)]
    stats = heartbeat_stats(arrivals, tolerance_s=2.0)
    assert stats.count == 4
    assert stats.interval_s == pytest.approx(10.0, abs=0.02)
    assert stats.max_deviation_s == pytest.approx(0.0, abs=1e-6)
    assert stats.regular is True


def test_heartbeats_released_together_are_irregular() -> None:
    arrivals = [arrival("heartbeat", 30.0 + i * 0.001, stamped_at=10.0 * i) for i in range(1, 4)]
    stats = heartbeat_stats(arrivals, tolerance_s=2.0)
    assert stats.max_deviation_s == pytest.approx(10.0, abs=0.01)
    assert stats.regular is False


def test_one_heartbeat_cannot_be_judged() -> None:
    stats = heartbeat_stats([arrival("progress", 0.0), arrival("heartbeat", 10.0, stamp=True)], tolerance_s=2.0)
    assert stats.count == 1 and stats.interval_s == pytest.approx(10.0) and stats.regular is None
    assert heartbeat_stats([], tolerance_s=2.0).interval_s is None
