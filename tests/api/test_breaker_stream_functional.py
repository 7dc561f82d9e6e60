"""Streams behind the Helius circuit breaker: during an outage new streams fail fast, after it they work.

DESIGN section 1: ``UPSTREAM_UNAVAILABLE`` is the error for "circuit open or
upstream failing after retries"; section 5: when Helius is down new streams
fail fast instead of piling up on retries.
"""

from __future__ import annotations

import asyncio
import time

import orjson

from tests.conftest import Emulator, ServerFactory, StreamRecord, read_stream

BREAKER_FAILURES = 2
BREAKER_RECOVERY_S = 0.5
#: Each retry waits this long, so a stream that really calls a failing Helius
#: takes at least this long, and one the breaker refuses visibly does not.
BACKOFF_S = 0.3


def assert_upstream_unavailable(record: StreamRecord) -> None:
    assert record.status == 200
    assert [e.event for e in record.events] == ["connected", "error"]
    error = orjson.loads(record.last.data)
    assert error["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["retryable"] is True
    assert "circuit" not in error["error"].lower(), "no internals in the message"


async def test_new_streams_fail_fast_while_helius_is_down_and_work_after_it_recovers(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("breaker-stream", 300)
    base = await walletdoctor(
        breaker_failures=BREAKER_FAILURES,
        breaker_recovery_s=BREAKER_RECOVERY_S,
        helius_attempts=2,
        helius_backoff_initial_s=BACKOFF_S,
        helius_backoff_max_s=BACKOFF_S,
    )
    url = f"{base}/v4/wallet/{wallet}/stream"
    emulator.settings.update({"server_error_ratio": 1.0})

    for _ in range(BREAKER_FAILURES):
        started = time.monotonic()
        failed = await read_stream(url, timeout=20)
        assert time.monotonic() - started >= BACKOFF_S, "this stream retried against Helius"
        assert_upstream_unavailable(failed)
    requests_before = emulator.stats.last_seq
    assert requests_before >= BREAKER_FAILURES * 2

    started = time.monotonic()
    refused = await read_stream(url, timeout=20)
    elapsed = time.monotonic() - started
    assert_upstream_unavailable(refused)
    assert emulator.stats.last_seq == requests_before and emulator.stats.in_flight == 0, "Helius saw nothing"
    assert elapsed < BACKOFF_S, f"refused in {elapsed:.3f} s, without retrying"

    emulator.settings.update({"server_error_ratio": 0.0})
    await asyncio.sleep(BREAKER_RECOVERY_S)
    recovered = await read_stream(url, timeout=30)
    assert recovered.last.event == "complete", "the same server works again, no restart"
    assert recovered.trades()
    assert emulator.stats.last_seq > requests_before
