"""The Helius client behind a circuit breaker, over real loopback HTTP against the emulator.

The emulator fails every request; once the breaker opens, calls are refused
in-process (no request reaches the emulator, no retry sleep), and when the
emulator recovers the same client works again after the recovery time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from walletdoctor.helius.breaker import BreakerState, UpstreamBreaker
from walletdoctor.helius.client import HeliusClient, create_client_session
from walletdoctor.helius.errors import CircuitOpen, UpstreamUnavailable

from tests.conftest import REAL_WALLET, Emulator

FAILURES = 3
RECOVERY_S = 0.4
ATTEMPTS = 3


@pytest.fixture
def transitions() -> list[BreakerState]:
    return []


@pytest.fixture
def breaker(transitions: list[BreakerState]) -> UpstreamBreaker:
    return UpstreamBreaker(
        "helius",
        failure_threshold=FAILURES,
        recovery_s=RECOVERY_S,
        on_state_change=lambda _name, _old, new: transitions.append(new),
    )


@pytest.fixture
async def client(emulator: Emulator, breaker: UpstreamBreaker) -> AsyncIterator[HeliusClient]:
    session = create_client_session(16)
    try:
        yield HeliusClient(
            session,
            api_url=emulator.url,
            rpc_url=emulator.url,
            api_key="breaker-test-key",
            rps=1000,
            rpc_rps=1000,
            timeout_s=2.0,
            attempts=ATTEMPTS,
            backoff_initial_s=0.05,
            backoff_max_s=0.1,
            breaker=breaker,
        )
    finally:
        await session.close()


async def trip(client: HeliusClient, emulator: Emulator) -> None:
    """Fail ``FAILURES`` whole calls (each after all its attempts) against a failing emulator."""
    emulator.settings.update({"server_error_ratio": 1.0})
    for _ in range(FAILURES):
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.get_signatures(REAL_WALLET, limit=5)
        assert not isinstance(caught.value, CircuitOpen)
    assert emulator.stats.last_seq == FAILURES * ATTEMPTS, "every call spent its retries before it counted"


async def test_an_open_circuit_refuses_at_once_and_sends_nothing(
    client: HeliusClient, emulator: Emulator, breaker: UpstreamBreaker
) -> None:
    await trip(client, emulator)
    assert breaker.state is BreakerState.OPEN
    seen = emulator.stats.last_seq

    for call in (
        lambda: client.get_signatures(REAL_WALLET, limit=5),
        lambda: client.parse_transactions(["1" * 88]),
        lambda: client.address_transactions(REAL_WALLET),
        lambda: client.get_asset_batch(["So11111111111111111111111111111111111111112"]),
    ):
        started = time.monotonic()
        with pytest.raises(CircuitOpen) as caught:
            await call()
        assert time.monotonic() - started < 0.1, "fail fast: no request, no backoff sleep"
        assert 0 < caught.value.retry_after_s <= RECOVERY_S
    assert emulator.stats.last_seq == seen and emulator.stats.in_flight == 0, "the emulator saw no new request"


async def test_it_recovers_without_a_restart_once_the_upstream_does(
    client: HeliusClient, emulator: Emulator, breaker: UpstreamBreaker, transitions: list[BreakerState]
) -> None:
    await trip(client, emulator)
    emulator.settings.update({"server_error_ratio": 0.0})
    with pytest.raises(CircuitOpen):
        await client.get_signatures(REAL_WALLET, limit=5)  # healthy again, but the timer still runs

    await asyncio.sleep(RECOVERY_S)
    page = await client.get_signatures(REAL_WALLET, limit=5)
    assert breaker.state is BreakerState.CLOSED
    signatures = [item["signature"] for item in page]
    assert [t["signature"] for t in await client.parse_transactions(signatures)] == signatures
    assert transitions == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


async def test_a_failing_probe_is_one_request_and_reopens(
    client: HeliusClient, emulator: Emulator, breaker: UpstreamBreaker, transitions: list[BreakerState]
) -> None:
    await trip(client, emulator)
    await asyncio.sleep(RECOVERY_S)
    seen = emulator.stats.last_seq
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.get_signatures(REAL_WALLET, limit=5)
    assert not isinstance(caught.value, CircuitOpen), "the probe went out"
    assert emulator.stats.last_seq == seen + 1, "the probe is one attempt, not a retry budget"
    assert breaker.state is BreakerState.OPEN
    assert transitions == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN]


async def test_half_open_sends_one_probe_while_concurrent_calls_fail_fast(
    client: HeliusClient, emulator: Emulator, breaker: UpstreamBreaker
) -> None:
    await trip(client, emulator)
    emulator.settings.update({"server_error_ratio": 0.0, "rpc_latency_s": 0.2, "latency_jitter": 0.0})
    await asyncio.sleep(RECOVERY_S)
    seen = emulator.stats.last_seq

    results = await asyncio.gather(
        *(client.get_signatures(REAL_WALLET, limit=5) for _ in range(10)), return_exceptions=True
    )

    answered = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, CircuitOpen)]
    assert len(answered) == 1 and len(refused) == 9
    assert emulator.stats.last_seq == seen + 1
    assert breaker.state is BreakerState.CLOSED
