"""The Birdeye client against the emulator mounted in the Helius emulator, over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from walletdoctor.birdeye import BirdeyeClient, InvalidResponse, RateLimited, Rejected, Unavailable
from walletdoctor.birdeye.client import ASK_RESERVE_SHARE
from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX, BirdeyeEmulatorState, BirdeyeFault, birdeye_emulator_of
from walletdoctor.birdeye.prices_book import load_recorded_prices
from walletdoctor.config import Settings
from walletdoctor.rate import HIGH_PRIORITY
from walletdoctor.solana import NATIVE_SOL_MINT

from tests.conftest import Emulator

API_KEY = "secret-birdeye-key"
#: The real wallet's first recorded SOL price is at this time (its first swap).
FIRST_SWAP = 1745794907


@pytest.fixture
def birdeye(emulator: Emulator) -> BirdeyeEmulatorState:
    state = birdeye_emulator_of(emulator.app)
    state.latency_s = 0.0
    return state


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


def make_client(session: aiohttp.ClientSession, url: str, **overrides: object) -> BirdeyeClient:
    retries: list[BaseException] = []
    options: dict[str, object] = {
        "api_key": API_KEY,
        "rps": 1000,
        "timeout_s": 2.0,
        "attempts": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.02,
        "on_retry": retries.append,
    }
    options.update(overrides)
    client = BirdeyeClient(session, base_url=url + BIRDEYE_PREFIX, **options)  # type: ignore[arg-type]
    client.retries = retries  # type: ignore[attr-defined]
    return client


@pytest.fixture
def client(session: aiohttp.ClientSession, emulator: Emulator, birdeye: BirdeyeEmulatorState) -> BirdeyeClient:
    return make_client(session, emulator.url)


async def test_points_are_time_ordered_decimals_with_the_recorded_price(client: BirdeyeClient) -> None:
    points = await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP - 300, FIRST_SWAP + 300, "1m")
    times = [when for when, _ in points]
    assert times == sorted(times) and all(FIRST_SWAP - 300 <= t <= FIRST_SWAP + 300 for t in times)
    assert all(isinstance(value, Decimal) and value > 0 for _, value in points)
    recorded = dict(load_recorded_prices().recorded_points(NATIVE_SOL_MINT))[FIRST_SWAP]
    # The wire carries a float: the client's Decimal is that float's shortest repr.
    assert dict(points)[FIRST_SWAP] == Decimal(str(float(recorded)))


async def test_coarse_intervals_give_aligned_points(client: BirdeyeClient) -> None:
    start = 1_700_000_123  # before the recorded range: the synthetic SOL curve
    points = await client.history_price(NATIVE_SOL_MINT, start, start + 10 * 900, "15m")
    assert [when for when, _ in points] == [1_700_000_100 + 900 * k for k in range(1, 11)]


async def test_an_unknown_mint_has_no_points(client: BirdeyeClient) -> None:
    assert await client.history_price("UnknownMint1111111111111111111111111111111", 0, 2_000_000_000, "1D") == []


async def test_request_names_the_token_interval_and_range(
    client: BirdeyeClient, birdeye: BirdeyeEmulatorState
) -> None:
    await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60, "1m")
    assert birdeye.mints == {NATIVE_SOL_MINT: 1} and birdeye.statuses == {200: 1}


async def test_arguments_are_checked_before_any_request(client: BirdeyeClient, birdeye: BirdeyeEmulatorState) -> None:
    with pytest.raises(ValueError):
        await client.history_price(NATIVE_SOL_MINT, 0, 60, "2m")
    with pytest.raises(ValueError):
        await client.history_price(NATIVE_SOL_MINT, 120, 60)
    assert birdeye.requests == 0


async def test_a_missing_key_is_rejected_at_once(session: aiohttp.ClientSession, emulator: Emulator,
                                                 birdeye: BirdeyeEmulatorState) -> None:
    keyless = make_client(session, emulator.url, api_key="")
    with pytest.raises(Rejected) as caught:
        await keyless.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    assert caught.value.status == 401 and "Unauthorized" in str(caught.value)
    assert birdeye.requests == 1 and keyless.retries == []  # type: ignore[attr-defined]


async def test_429_honours_retry_after(client: BirdeyeClient, birdeye: BirdeyeEmulatorState) -> None:
    birdeye.retry_after_s = 1
    birdeye.inject(BirdeyeFault.RATE_LIMITED)
    started = time.monotonic()
    points = await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    assert points and time.monotonic() - started >= 0.95  # waited Retry-After, not the 10 ms backoff
    (error,) = client.retries  # type: ignore[attr-defined]
    assert isinstance(error, RateLimited) and error.retry_after == 1.0
    assert birdeye.statuses == {429: 1, 200: 1}


async def test_429_until_the_last_attempt_raises_rate_limited(
    client: BirdeyeClient, birdeye: BirdeyeEmulatorState
) -> None:
    birdeye.retry_after_s = 0
    birdeye.inject(*[BirdeyeFault.RATE_LIMITED] * 3)
    with pytest.raises(RateLimited):
        await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    assert birdeye.requests == 3


async def test_server_errors_are_retried(client: BirdeyeClient, birdeye: BirdeyeEmulatorState) -> None:
    birdeye.inject(BirdeyeFault.SERVER_ERROR, BirdeyeFault.SERVER_ERROR)
    assert await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    assert [type(e) for e in client.retries] == [Unavailable, Unavailable]  # type: ignore[attr-defined]
    assert birdeye.statuses == {500: 2, 200: 1}


async def test_malformed_bodies_are_retried_then_reported(client: BirdeyeClient, birdeye: BirdeyeEmulatorState) -> None:
    birdeye.inject(BirdeyeFault.MALFORMED)
    assert await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    birdeye.inject(*[BirdeyeFault.MALFORMED] * 3)
    with pytest.raises(InvalidResponse):
        await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)


async def test_a_hanging_answer_times_out_as_unavailable(
    session: aiohttp.ClientSession, emulator: Emulator, birdeye: BirdeyeEmulatorState
) -> None:
    birdeye.hang_s = 5.0
    birdeye.inject(BirdeyeFault.HANG, BirdeyeFault.HANG)
    impatient = make_client(session, emulator.url, timeout_s=0.2, attempts=2)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="timed out"):
        await impatient.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    assert time.monotonic() - started < 2.0


async def test_unreachable_host_is_unavailable(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(session, f"http://127.0.0.1:{port}", attempts=2)
    with pytest.raises(Unavailable, match="connection failed"):
        await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)


async def test_the_key_appears_in_no_error_nor_log(
    client: BirdeyeClient, birdeye: BirdeyeEmulatorState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    birdeye.inject(*[BirdeyeFault.SERVER_ERROR] * 3)
    with pytest.raises(Unavailable) as caught:
        await client.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
    texts = [str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]
    assert caplog.records and not any(API_KEY in text for text in texts)


async def test_up_to_the_rate_goes_at_once_and_never_more_in_any_second(
    session: aiohttp.ClientSession, emulator: Emulator, birdeye: BirdeyeEmulatorState
) -> None:
    """A stream's first batch needs several price windows at once: evenly spaced
    requests queued them (the 9th of 15 rps waited 0.53 s); a leaky bucket of the
    same rate would let 2 x rps through some 1 s span and earn 429s."""
    birdeye.rps = 20  # the emulator refuses a 21st request in any 1 s span
    limited = make_client(session, emulator.url, rps=20)
    started = time.monotonic()
    done: list[float] = []

    async def ask() -> None:
        await limited.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60, priority=HIGH_PRIORITY)
        done.append(time.monotonic() - started)

    await asyncio.gather(*(ask() for _ in range(45)))
    assert birdeye.statuses == {200: 45}  # never over the limit, so never a 429
    done.sort()
    assert done[19] < 1.0  # the first 20 did not wait for one another
    assert done[20] >= 1.0 and done[40] >= 2.0  # the next ones waited a whole window each


async def test_prefetches_leave_part_of_each_second_to_the_prices_a_stream_waits_for(
    session: aiohttp.ClientSession, emulator: Emulator, birdeye: BirdeyeEmulatorState
) -> None:
    """Measured on the real wallet before: 11 SOL windows prefetched from the first
    page of signatures took the whole second, and the first trades' token price waited 0.5 s."""
    birdeye.rps = 15
    limited = make_client(session, emulator.url, rps=15)
    kept = 15 // ASK_RESERVE_SHARE
    started = time.monotonic()
    prefetched: list[float] = []

    async def prefetch() -> None:
        await limited.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60)
        prefetched.append(time.monotonic() - started)

    prefetches = [asyncio.create_task(prefetch()) for _ in range(15)]
    await asyncio.sleep(0.2)
    assert len(prefetched) == 15 - kept, "normal priority never takes the kept places"
    await asyncio.gather(
        *(limited.history_price(NATIVE_SOL_MINT, FIRST_SWAP, FIRST_SWAP + 60, priority=HIGH_PRIORITY) for _ in range(kept))
    )
    assert len(prefetched) == 15 - kept, "the asks did not wait for the prefetches' second to pass"
    await asyncio.gather(*prefetches)
    assert sorted(prefetched)[-1] >= 1.0  # the rest of the prefetches waited for the next second
    assert birdeye.statuses == {200: 15 + kept}


def test_from_settings_takes_the_birdeye_settings() -> None:
    settings = Settings(_env_file=None, birdeye_rps=3, birdeye_timeout_s=4, birdeye_attempts=5)  # type: ignore[call-arg]
    client = BirdeyeClient.from_settings(None, settings, base_url="http://x/", api_key="k")  # type: ignore[arg-type]
    assert client._attempts == 5 and client._timeout.total == 4 and client._url == "http://x/defi/history_price"
