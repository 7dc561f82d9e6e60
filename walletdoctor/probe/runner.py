"""Running a probe: open the streams at once, record each, judge them together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from walletdoctor.probe.recording import (
    DEFAULT_DEADLINE_S,
    DEFAULT_IDLE_TIMEOUT_S,
    EventArrival,
    StreamRecording,
    record_stream,
)
from walletdoctor.probe.report import ProbeReport, Thresholds

__all__ = ["MAX_CONCURRENCY", "ProbeObserver", "ProbeOptions", "run_probe"]
#: Upper bound on concurrent streams, to keep a mistyped option from flooding a server.
MAX_CONCURRENCY = 1000

#: Called after each event with the stream's number (0-based), its recording so far and the event.
ProbeObserver = Callable[[int, StreamRecording, EventArrival], None]


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How to probe.

    Attributes:
        concurrency: streams opened at once (1..1000), each on its own connection.
        thresholds: what the verdict is judged against.
        idle_timeout_s: longest wait for bytes on a stream before it counts as stalled.
        deadline_s: longest a stream may be recorded.
        headers: extra request headers (``X-API-Key``, ``Authorization`` ...).
    """

    concurrency: int = 1
    thresholds: Thresholds = field(default_factory=Thresholds)
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    deadline_s: float = DEFAULT_DEADLINE_S
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be within 1..{MAX_CONCURRENCY}")
        if self.idle_timeout_s <= 0 or self.deadline_s <= 0:
            raise ValueError("timeouts must be positive")


async def run_probe(url: str, options: ProbeOptions, on_event: ProbeObserver | None = None) -> ProbeReport:
    """Open ``options.concurrency`` streams of ``url`` at once, record them to their end and judge them.

    Never raises on what the path does (refusals, cuts, stalls are findings);
    raises ``ValueError`` for a URL that is not http(s).
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    # Keep-alive would let a finished stream's connection serve the next
    # request; each stream gets a fresh one, as separate clients would.
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits) as client:
        recordings = await asyncio.gather(
            *(
                record_stream(
                    client,
                    url,
                    headers=options.headers,
                    idle_timeout_s=options.idle_timeout_s,
                    deadline_s=options.deadline_s,
                    on_event=_numbered(index, on_event),
                )
                for index in range(options.concurrency)
            )
        )
    return ProbeReport.of(url, list(recordings), options.thresholds)


def _numbered(index: int, observer: ProbeObserver | None) -> Callable[[StreamRecording, EventArrival], None] | None:
    if observer is None:
        return None
    return lambda recording, arrival: observer(index, recording, arrival)
