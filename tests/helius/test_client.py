"""The Helius client against the emulator over loopback: shapes, retries, error translation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from walletdoctor.config import HistoryVocabulary
from walletdoctor.helius.client import HeliusClient, create_client_session
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.helius.errors import InvalidResponse, RateLimited, RequestRejected, UpstreamUnavailable
from walletdoctor.helius.responses import EnhancedTransaction

from tests.conftest import REAL_WALLET, Emulator

API_KEY = "secret-test-key"


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[HeliusClient]:
    session = create_client_session(16)
    retries: list[tuple[str, BaseException]] = []
    helius = HeliusClient(
        session,
        api_url=emulator.url,
        rpc_url=emulator.url,
        api_key=API_KEY,
        rps=1000,
        rpc_rps=1000,
        timeout_s=2.0,
        attempts=3,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        on_retry=lambda endpoint, error: retries.append((endpoint, error)),
    )
    helius.retries = retries  # type: ignore[attr-defined]
    try:
        yield helius
    finally:
        await session.close()


async def test_signature_pages_walk_the_whole_history_once(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("paging", 2345)
    seen: list[str] = []
    before = None
    while page := await client.get_signatures(wallet, before=before, limit=1000):
        seen += [item["signature"] for item in page]
        before = page[-1]["signature"]
    assert len(seen) == len(set(seen)) == 2345


async def test_parse_returns_enhanced_transactions(client: HeliusClient, emulator: Emulator) -> None:
    page = await client.get_signatures(REAL_WALLET, limit=100)
    transactions = await client.parse_transactions([item["signature"] for item in page])
    assert [t["signature"] for t in transactions] == [item["signature"] for item in page]
    assert {"tokenTransfers", "nativeTransfers", "accountData", "fee", "slot"} <= transactions[0].keys()
    # Decoded into the fields extraction reads: what it never reads is skipped.
    assert all(t.keys() <= EnhancedTransaction.__annotations__.keys() for t in transactions)
    recorded = load_recorded_wallet()
    assert any("instructions" in recorded.transaction(i) for i in range(len(page))), "the emulator sends them"
    history = await client.address_transactions(REAL_WALLET)
    assert history.transactions and all(t.keys() <= EnhancedTransaction.__annotations__.keys() for t in history.transactions)
    with pytest.raises(ValueError):
        await client.parse_transactions(["x"] * 101)


async def test_history_pages_in_both_vocabularies(client: HeliusClient, emulator: Emulator) -> None:
    wallet = emulator.synthetic("vocabularies", 250)
    walks = []
    for vocabulary in HistoryVocabulary:
        signatures: list[str] = []
        before = None
        while (page := await client.address_transactions(wallet, cursor=before, vocabulary=vocabulary)).transactions:
            signatures += [t["signature"] for t in page.transactions]
            before = signatures[-1]
        walks.append(signatures)
    assert walks[0] == walks[1] and len(walks[0]) == 250


@pytest.mark.parametrize("as_404", [False, True])
async def test_search_period_answer_becomes_a_resume_hint(client: HeliusClient, emulator: Emulator, as_404: bool) -> None:
    wallet = emulator.synthetic("sparse", 400)
    emulator.settings.update({"search_error_as_404": as_404, "history_search_window": 5})
    page = await client.address_transactions(wallet, transaction_type="NFT_SALE")
    assert page.transactions == []
    assert page.resume_from is not None and len(page.resume_from) > 60


async def test_asset_batch_keeps_order_and_nulls(client: HeliusClient) -> None:
    lub = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
    unknown = "9" * 43
    assets = await client.get_asset_batch([lub, unknown])
    assert assets[1] is None
    assert assets[0] is not None and assets[0]["id"] == lub


async def test_server_errors_are_retried_then_reported(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"server_error_ratio": 1.0})
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.get_signatures(REAL_WALLET)
    assert emulator.stats.endpoints[Endpoint.RPC_SIGNATURES].requests == 3
    assert len(client.retries) == 2  # type: ignore[attr-defined]
    assert API_KEY not in str(caught.value)


async def test_a_transient_failure_recovers(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"server_error_ratio": 0.3, "fault_seed": 9})
    for _ in range(10):
        assert await client.get_signatures(REAL_WALLET, limit=5)
    assert client.retries, "some attempts failed and were retried"  # type: ignore[attr-defined]


async def test_retry_after_is_honoured(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"rpc_rps": 1, "retry_after": True})
    await client.get_signatures(REAL_WALLET, limit=1)
    started = time.monotonic()
    await client.get_signatures(REAL_WALLET, limit=1)
    waited = time.monotonic() - started
    rate_limits = [e for _, e in client.retries if isinstance(e, RateLimited)]  # type: ignore[attr-defined]
    assert rate_limits and rate_limits[0].retry_after is not None and rate_limits[0].retry_after >= 1
    assert waited >= rate_limits[0].retry_after * 0.9, "the client waited as long as Retry-After asked"


async def test_malformed_bodies_are_invalid_responses(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"malformed_ratio": 1.0})
    with pytest.raises(InvalidResponse):
        await client.parse_transactions(["x" * 88])


async def test_timeouts_are_upstream_unavailable(client: HeliusClient, emulator: Emulator) -> None:
    emulator.settings.update({"timeout_ratio": 1.0, "timeout_s": 30.0})
    with pytest.raises(UpstreamUnavailable):
        await client.get_signatures(REAL_WALLET)


async def test_refusals_are_not_retried(emulator: Emulator) -> None:
    session = create_client_session(4)
    try:
        keyless = HeliusClient(session, api_url=emulator.url, rpc_url=emulator.url, api_key="", rps=100, rpc_rps=100)
        with pytest.raises(RequestRejected) as caught:
            await keyless.parse_transactions(["x" * 88])
        assert caught.value.status == 401
        assert emulator.stats.endpoints[Endpoint.ENHANCED_PARSE].requests == 1
    finally:
        await session.close()
