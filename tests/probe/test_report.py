"""The verdict rules and the ``--json`` document, on hand-made recordings."""

from __future__ import annotations

import orjson
import pytest

from walletdoctor.probe.recording import EventArrival, StreamEnd, StreamRecording
from walletdoctor.probe.report import ProbeReport, StreamReport, Thresholds

SERVER_START = 1_750_000_000.0
STREAM_ID = "0b4c7a64-5d1e-4a8e-9a63-2f0f6c1f8a10"


def healthy(*, end: StreamEnd = StreamEnd.COMPLETE, final: dict[str, object] | None = None) -> StreamRecording:
    """Connected, progress every second with a heartbeat between, complete: delivered at once."""
    arrivals = [EventArrival("connected", f"{STREAM_ID}:1", 0.05, SERVER_START + 0.05, 120, SERVER_START + 0.04)]
    seq = 1
    for second in range(1, 6):
        seq += 1
        arrivals.append(EventArrival("progress", f"{STREAM_ID}:{seq}", float(second), SERVER_START + second, 200))
        arrivals.append(EventArrival("heartbeat", f"{STREAM_ID}:{seq}", second + 0.5, SERVER_START + second + 0.5, 30, SERVER_START + second + 0.49))
    arrivals.append(EventArrival("complete", f"{STREAM_ID}:{seq + 1}", 6.0, SERVER_START + 6.0, 400))
    return StreamRecording(
        url="http://127.0.0.1:1/v4/wallet/x/stream",
        status=200,
        content_type="text/event-stream",
        headers_s=0.04,
        duration_s=6.01,
        arrivals=arrivals,
        end=end,
        final_data=final if final is not None else {"trades_found": 0, "duration": 6.0},
    )


def test_a_prompt_complete_stream_is_fit() -> None:
    report = StreamReport.of(healthy(), Thresholds())
    assert report.fit and report.reasons == []
    assert report.first_event_s == pytest.approx(0.05)
    assert report.heartbeat.count == 5 and report.heartbeat.regular is True
    assert report.buffering.detected is False


def test_a_refusal_is_not_fit_and_says_why() -> None:
    refused = StreamRecording(url="u", status=401, end=StreamEnd.REFUSED, detail='HTTP 401: {"code":"UNAUTHORIZED"}')
    report = StreamReport.of(refused, Thresholds())
    assert not report.fit
    assert report.reasons == ['no stream: HTTP 401: {"code":"UNAUTHORIZED"}']


def test_a_cut_stream_is_not_fit() -> None:
    recording = healthy(end=StreamEnd.CUT)
    recording.arrivals.pop()
    report = StreamReport.of(recording, Thresholds())
    assert not report.fit
    assert "without its final event" in report.reasons[0]


def test_an_error_event_leaves_the_path_unproven() -> None:
    report = StreamReport.of(
        healthy(end=StreamEnd.ERROR_EVENT, final={"error": "upstream down", "code": "UPSTREAM_UNAVAILABLE"}), Thresholds()
    )
    assert report.reasons == ["the server ended the stream with error UPSTREAM_UNAVAILABLE: upstream down"]


def test_a_long_gap_is_not_fit() -> None:
    report = StreamReport.of(healthy(), Thresholds(gap_s=0.5))
    assert not report.fit
    assert any("gap(s) longer than 0.5 s" in reason for reason in report.reasons)


def test_buffering_is_not_fit() -> None:
    recording = healthy()
    # Everything arrives at 6 s: the server's stamps say it was sent over 6 s.
    recording.arrivals = [
        EventArrival(a.event, a.event_id, 6.0, SERVER_START + 6.0, a.size, a.server_timestamp) for a in recording.arrivals
    ]
    report = StreamReport.of(recording, Thresholds())
    assert report.buffering.detected is True
    assert [r for r in report.reasons if r.startswith("buffering:")] == [
        "buffering: 3 event(s) held back up to 5.5 s beyond the fastest delivery (by the server's timestamps)"
    ]


def test_heartbeats_off_their_cadence_are_not_fit() -> None:
    recording = healthy()
    # Heartbeats stamped 1 s apart arrive together: 1 s off, beyond a 0.5 s tolerance.
    recording.arrivals = [
        EventArrival(a.event, a.event_id, 5.5, SERVER_START + 5.5, a.size, a.server_timestamp) if a.event == "heartbeat" else a
        for a in recording.arrivals
    ]
    report = StreamReport.of(recording, Thresholds(lag_s=0.5))
    assert report.heartbeat.regular is False
    assert any(reason.startswith("irregular heartbeats: spacing off by up to 1.0 s") for reason in report.reasons)


def test_thresholds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Thresholds(gap_s=0)


def test_the_probe_is_fit_only_when_every_stream_is() -> None:
    cut = healthy(end=StreamEnd.CUT)
    report = ProbeReport.of("u", [healthy(), cut], Thresholds())
    assert not report.fit
    assert report.reasons[0].startswith("stream 2: ")
    assert ProbeReport.of("u", [healthy(), healthy()], Thresholds()).fit
    assert not ProbeReport.of("u", [], Thresholds()).fit


def test_the_json_document() -> None:
    report = ProbeReport.of("http://host/v4/wallet/x/stream", [healthy(), healthy()], Thresholds(gap_s=20, lag_s=1))
    document = orjson.loads(orjson.dumps(report.to_json()))
    assert document["verdict"] == "fit" and document["fit"] is True
    assert document["thresholds"] == {"gap_s": 20, "lag_s": 1}
    assert document["gaps"]["count"] == 2 * 12 and document["gaps"]["within_threshold"] == 1.0
    assert document["buffering_detected"] is False
    stream = document["streams"][0]
    assert stream["stream_id"] == STREAM_ID
    assert stream["ttfb_s"] == 0.04 and stream["first_event_s"] == 0.05
    assert stream["events_by_type"] == {"connected": 1, "progress": 5, "heartbeat": 5, "complete": 1}
    assert stream["heartbeat"]["regular"] is True and stream["heartbeat"]["count"] == 5
    assert stream["buffering"]["method"] == "server timestamps"
    assert len(stream["arrivals"]) == 12 and stream["arrivals"][0]["event"] == "connected"


def test_bursts_without_timestamps_are_reported_as_suspected_buffering() -> None:
    recording = healthy()
    # No event carries a timestamp; all of them arrive in bursts of four after 3 s silences.
    recording.arrivals = [
        EventArrival("progress", f"{STREAM_ID}:{i}", 3.0 * (1 + i // 4) + (i % 4) * 0.001, SERVER_START, 10) for i in range(12)
    ]
    recording.arrivals[-1] = EventArrival("complete", f"{STREAM_ID}:12", 9.003, SERVER_START, 10)
    report = StreamReport.of(recording, Thresholds())
    assert report.buffering.method == "arrival gaps" and report.buffering.detected is True
    assert [r for r in report.reasons if r.startswith("buffering")] == [
        "buffering suspected: 8 of 12 events came in bursts after silences up to 3.0 s (by arrival gaps)"
    ]
