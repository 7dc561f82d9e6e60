"""The probe on a terminal: a live status line per stream while it runs, the report at the end.

Uses rich: on a TTY the live lines redraw in place and vanish when the probe
ends; elsewhere (a pipe, a CI log) nothing live is drawn and the report is
plain text.
"""

from __future__ import annotations

import time
from collections import Counter
from types import TracebackType
from typing import Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from walletdoctor.probe.recording import EventArrival, StreamRecording
from walletdoctor.probe.report import ProbeReport, StreamReport

__all__ = ["LiveStatus", "render_report"]

#: Streams given a line of their own in the live status; the rest are summed up.
_LIVE_LINES = 6
#: Streams given a table of their own in the report; beyond, one line each.
_DETAILED_STREAMS = 3


class LiveStatus:
    """A context manager drawing one live line per open stream on ``console`` (a TTY only).

    Feed it with :meth:`update` (a :data:`~walletdoctor.probe.runner.ProbeObserver`).
    """

    def __init__(self, console: Console, streams: int) -> None:
        self._console = console
        self._streams = streams
        self._start = time.monotonic()
        self._seen: dict[int, tuple[StreamRecording, EventArrival]] = {}
        self._live = Live(console=console, transient=True, refresh_per_second=8, get_renderable=self._render)

    def __enter__(self) -> Self:
        if self._console.is_terminal:
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._live.is_started:
            self._live.stop()

    def update(self, index: int, recording: StreamRecording, arrival: EventArrival) -> None:
        """Record that stream ``index`` received ``arrival`` (drawn at the next refresh)."""
        self._seen[index] = (recording, arrival)

    def _render(self) -> Group:
        now = time.monotonic() - self._start
        lines = [Text(f"probing {self._streams} stream(s) · {now:.1f} s", style="bold")]
        for index in sorted(self._seen)[:_LIVE_LINES]:
            recording, last = self._seen[index]
            lines.append(Text(f"  stream {index + 1}: " + _progress(recording, last, now)))
        rest = sorted(self._seen)[_LIVE_LINES:]
        if rest:
            events = sum(len(self._seen[i][0].arrivals) for i in rest)
            lines.append(Text(f"  {len(rest)} more stream(s): {events} events"))
        return Group(*lines)


def _progress(recording: StreamRecording, last: EventArrival, now: float) -> str:
    counts = Counter(a.event for a in recording.arrivals)
    kinds = ", ".join(f"{name} {count}" for name, count in counts.items())
    return (
        f"{len(recording.arrivals)} events ({kinds}) · {recording.trades:,} trades · "
        f"last {last.event} {max(0.0, now - last.at_s):.1f} s ago"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _stream_table(report: StreamReport, title: str) -> Table:
    rec, gaps, buffering, heartbeat = report.recording, report.gaps, report.buffering, report.heartbeat
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("measure", style="bold")
    table.add_column("value")
    within = gaps.within_threshold
    if buffering.detected is None:
        held = "unknown (too few events to tell)"
    elif buffering.method == "server timestamps":
        held = (
            f"{'YES' if buffering.detected else 'no'}: {buffering.delayed_events} of {buffering.sampled_events} "
            f"stamped events held back over {buffering.threshold_s:g} s, most {_seconds(buffering.max_delay_s)} "
            "(by the server's timestamps)"
        )
    else:
        held = (
            f"{'YES' if buffering.detected else 'no'}: {buffering.delayed_events} of {buffering.sampled_events} "
            f"events came in bursts after silences over {buffering.threshold_s:g} s "
            "(by arrival gaps: the events carry no timestamps)"
        )
    if heartbeat.count == 0:
        beats = "none seen"
    else:
        regular = {True: "regular", False: "IRREGULAR", None: "too few to judge"}[heartbeat.regular]
        beats = (
            f"{heartbeat.count}, every {_seconds(heartbeat.interval_s)} of quiet, "
            f"spacing off by at most {_seconds(heartbeat.max_deviation_s)}: {regular}"
        )
    rows = [
        ("HTTP", f"{rec.status or '-'} {rec.content_type}".strip()),
        ("stream id", rec.stream_id or "-"),
        ("time to first byte", _seconds(rec.headers_s)),
        ("time to first event", _seconds(report.first_event_s)),
        ("duration", _seconds(rec.duration_s)),
        ("events", f"{len(rec.arrivals)} ({rec.trades:,} trades)"),
        ("gaps p50 / p95 / max", f"{_seconds(gaps.p50_s)} / {_seconds(gaps.p95_s)} / {_seconds(gaps.max_s)}"),
        (f"within {gaps.threshold_s:g} s", "-" if within is None else f"{within:.1%}"),
        ("buffering", held),
        ("heartbeats", beats),
        ("ended", f"{rec.end.value} {rec.detail}".strip()),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def render_report(console: Console, report: ProbeReport) -> None:
    """Print ``report``: each stream's measures (or one line each when many), then the verdict."""
    streams = report.streams
    if len(streams) <= _DETAILED_STREAMS:
        for index, stream in enumerate(streams):
            console.print(_stream_table(stream, f"stream {index + 1} of {len(streams)}: {report.url}"))
    else:
        pooled = report.pooled_gaps
        console.print(f"{len(streams)} streams of {report.url}")
        console.print(
            f"gaps over all streams p50 / p95 / max: {_seconds(pooled.p50_s)} / {_seconds(pooled.p95_s)} / "
            f"{_seconds(pooled.max_s)}; within {pooled.threshold_s:g} s: "
            + ("-" if pooled.within_threshold is None else f"{pooled.within_threshold:.1%}")
        )
        for index, stream in enumerate(streams):
            first = stream.first_event_s
            console.print(
                f"  stream {index + 1}: {'fit' if stream.fit else 'NOT FIT'}, {len(stream.recording.arrivals)} events, "
                f"first after {_seconds(first)}, ended {stream.recording.end.value}"
            )
    if report.fit:
        console.print(Text("verdict: fit for streaming", style="bold green"))
        return
    console.print(Text("verdict: NOT fit for streaming", style="bold red"))
    for reason in report.reasons:
        console.print(f"  - {reason}", markup=False, highlight=False)
