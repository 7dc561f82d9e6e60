"""Streams over a misbehaving upstream: retried faults change nothing, lasting ones end in an error event."""

from __future__ import annotations

from collections import Counter

import orjson

from walletdoctor.helius.emulator.settings import Endpoint

from tests.conftest import Emulator, ServerFactory, read_stream


async def test_429s_and_5xx_are_retried_and_the_trades_are_the_same(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("flaky-upstream", 1500)
    # No upstream cache: the second stream must fetch everything again.
    base = await walletdoctor(helius_attempts=12, upstream_cache_ttl_s=0)
    clean = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
    assert clean.last.event == "complete"

    emulator.stats.reset()
    emulator.settings.update({"server_error_ratio": 0.25, "enhanced_rps": 4, "rpc_rps": 4, "retry_after": True})
    flaky = await read_stream(f"{base}/v4/wallet/{wallet}/stream")

    assert flaky.last.event == "complete"
    assert flaky.trades() and [t["signature"] for t in flaky.trades()] == [t["signature"] for t in clean.trades()]
    assert flaky.named_trades() == clean.named_trades()
    statuses: Counter[int] = Counter()
    for endpoint in emulator.stats.endpoints.values():
        statuses.update(endpoint.by_status)
    assert statuses[429] > 0, "the rate limit was hit"
    assert sum(n for code, n in statuses.items() if code >= 500) > 0, "server errors happened"


async def test_malformed_and_incomplete_answers_are_recovered(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("malformed-upstream", 1200)
    base = await walletdoctor(helius_attempts=10, upstream_cache_ttl_s=0)
    clean = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
    emulator.settings.update({"malformed_ratio": 0.2, "incomplete_ratio": 0.3})
    damaged = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
    assert damaged.last.event == "complete"
    assert damaged.named_trades() == clean.named_trades()
    assert orjson.loads(damaged.last.data)["summary"]["transactions_missing"] == 0


async def test_a_persistently_failing_upstream_ends_with_an_error_event(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("dead-upstream", 300)
    emulator.settings.update({"server_error_ratio": 1.0})
    base = await walletdoctor(helius_attempts=3)
    record = await read_stream(f"{base}/v4/wallet/{wallet}/stream", timeout=20)
    assert record.events[0].event == "connected"
    assert record.last.event == "error"
    error = orjson.loads(record.last.data)
    assert error["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["retryable"] is True
    assert "http" not in error["error"].lower() and "test-key" not in record.last.data
    assert emulator.stats.endpoints[Endpoint.RPC_SIGNATURES].requests == 3, "three attempts, then give up"


async def test_history_strategy_streams_the_same_trades(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("two-strategies", 640)
    pipelined = await read_stream(f"{await walletdoctor()}/v4/wallet/{wallet}/stream")
    for vocabulary in ("signature", "legacy"):
        base = await walletdoctor(fetch_strategy="history", history_vocabulary=vocabulary)
        history = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
        assert history.last.event == "complete"
        assert history.named_trades() == pipelined.named_trades()


async def test_time_window_limits_the_trades(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("windowed", 900)
    base = await walletdoctor()
    everything = (await read_stream(f"{base}/v4/wallet/{wallet}/stream")).named_trades()
    timestamps = sorted(t["timestamp"] for t in everything)
    since, until = timestamps[len(timestamps) // 4], timestamps[3 * len(timestamps) // 4]
    for strategy in ("pipelined", "history"):
        base = await walletdoctor(fetch_strategy=strategy)
        windowed = (await read_stream(f"{base}/v4/wallet/{wallet}/stream?since={since}&until={until}")).named_trades()
        assert windowed == [t for t in everything if since <= t["timestamp"] <= until]
