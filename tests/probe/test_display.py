"""The printed report and the live status line."""

from __future__ import annotations

import io

from rich.console import Console

from tests.probe.test_report import healthy
from walletdoctor.probe.display import LiveStatus, render_report
from walletdoctor.probe.recording import StreamEnd
from walletdoctor.probe.report import ProbeReport, Thresholds


def _printed(report: ProbeReport) -> str:
    out = io.StringIO()
    render_report(Console(file=out, width=140, color_system=None), report)
    return out.getvalue()


def test_a_fit_stream_shows_every_measure_and_the_verdict() -> None:
    text = _printed(ProbeReport.of("http://h/v4/wallet/x/stream", [healthy()], Thresholds()))
    for expected in (
        "time to first byte",
        "0.040 s",
        "time to first event",
        "0.050 s",
        "gaps p50 / p95 / max",
        "within 25 s",
        "100.0%",
        "buffering",
        "no: 0 of 6 stamped events held back over 2 s",
        "heartbeats",
        "5, every 0.500 s of quiet",
        ": regular",
        "verdict: fit for streaming",
    ):
        assert expected in text, expected


def test_a_not_fit_probe_lists_its_reasons() -> None:
    text = _printed(ProbeReport.of("u", [healthy(end=StreamEnd.CUT)], Thresholds()))
    assert "verdict: NOT fit for streaming" in text
    assert "  - the stream ended without its final event" in text


def test_many_streams_get_one_line_each() -> None:
    text = _printed(ProbeReport.of("u", [healthy() for _ in range(5)], Thresholds()))
    assert "5 streams of u" in text and "gaps over all streams" in text
    assert text.count(": fit, 12 events") == 5


def test_the_live_status_draws_only_on_a_terminal() -> None:
    recording = healthy()
    quiet = io.StringIO()
    with LiveStatus(Console(file=quiet), streams=1) as live:
        live.update(0, recording, recording.arrivals[-1])
    assert quiet.getvalue() == ""

    screen = io.StringIO()
    with LiveStatus(Console(file=screen, force_terminal=True, width=140), streams=1) as live:
        live.update(0, recording, recording.arrivals[-1])
        live._live.refresh()
    drawn = screen.getvalue()
    assert "probing 1 stream(s)" in drawn and "stream 1: 12 events" in drawn and "last complete" in drawn
