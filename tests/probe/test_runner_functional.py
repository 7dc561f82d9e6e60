"""Concurrent streams through :func:`run_probe`."""

from __future__ import annotations

import pytest

from tests.conftest import Emulator, ServerFactory
from walletdoctor.probe import ProbeOptions, run_probe


async def test_concurrent_streams_are_numbered_and_judged_together(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("probe-runner", 150)
    base = await walletdoctor()
    seen: dict[int, set[str]] = {}

    report = await run_probe(
        f"{base}/v4/wallet/{wallet}/stream",
        ProbeOptions(concurrency=2),
        on_event=lambda index, recording, arrival: seen.setdefault(index, set()).add(recording.stream_id or ""),
    )
    assert report.fit, report.reasons
    assert sorted(seen) == [0, 1]
    ids = {s.recording.stream_id for s in report.streams}
    assert len(ids) == 2 and seen[0] | seen[1] == ids


async def test_bad_urls_and_options_are_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        await run_probe("ftp://example.test/stream", ProbeOptions())
    with pytest.raises(ValueError, match="concurrency"):
        ProbeOptions(concurrency=0)
    with pytest.raises(ValueError, match="timeouts"):
        ProbeOptions(idle_timeout_s=0)
