"""The stream probe: does SSE survive the path to a WalletDoctor server?

``walletdoctor probe URL`` opens one or more streams, records when each
event arrives and judges the path: time to first byte and first event,
gaps between events, the share of gaps within a proxy's idle limit,
buffering (from the events' own server timestamps), heartbeat regularity.

::

    recording.py   one stream, as a client receives it (httpx + httpx-sse)
    measures.py    gaps, percentiles, buffering, heartbeats (pure functions)
    report.py      per-stream findings, the verdict, the JSON document
    runner.py      concurrent streams -> ProbeReport
    display.py     live status line and the printed report (rich)
    command.py     the ``probe`` subcommand's options and exit status
"""

from walletdoctor.probe.report import ProbeReport, StreamReport, Thresholds
from walletdoctor.probe.runner import ProbeOptions, run_probe

__all__ = ["ProbeOptions", "ProbeReport", "StreamReport", "Thresholds", "run_probe"]
