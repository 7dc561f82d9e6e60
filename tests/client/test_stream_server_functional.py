"""WalletStream against the real WalletDoctor server and the Helius emulator: a plain,
uninterrupted stream read exactly as an independent SSE client (httpx-sse) reads it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import Emulator, ServerFactory, read_stream
from walletdoctor.client import (
    BadRequest,
    CompleteEvent,
    ConnectedEvent,
    ProgressEvent,
    TradesEvent,
    Unauthorized,
    WalletStream,
)
from walletdoctor.errors import ErrorCode
from walletdoctor.security import create_key


async def test_client_reads_what_an_independent_sse_client_reads(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("client-plain", 730)
    base = await walletdoctor()
    reference = await read_stream(f"{base}/v4/wallet/{wallet}/stream?batch_size=40&order=asc")

    async with WalletStream(base, wallet, batch_size=40, order="asc") as stream:
        events = [event async for event in stream]

    ids = [e.id for e in events if not isinstance(e, ConnectedEvent)]
    assert len(ids) == len(set(ids))
    assert isinstance(events[0], ConnectedEvent) and not events[0].resumed
    assert events[0].stream_id == stream.stream_id and events[0].wallet == wallet
    assert any(isinstance(e, ProgressEvent) for e in events)
    trades = [t for e in events if isinstance(e, TradesEvent) for t in e.trades]
    expected = reference.trades()
    assert [t.signature for t in trades] == [t["signature"] for t in expected]
    # Decimal strings arrive as the same Decimal values, and go back out as the same text.
    for trade, wire in zip(trades, expected, strict=True):
        assert trade.amount_in == Decimal(wire["amount_in"]) and trade.fee_sol == Decimal(wire["fee_sol"])
        assert trade.to_json() == wire
    complete = events[-1]
    assert isinstance(complete, CompleteEvent) and stream.complete is complete
    assert complete.trades_found == len(trades) > 0
    summary = complete.summary
    assert summary.extra == {}, "the client types every key of the server's summary"
    assert summary.to_json() == reference.data("complete")[0]["summary"]
    assert stream.reconnects == [] and stream.requests == 1 and stream.duplicates_dropped == 0


async def test_the_server_refusals_are_typed(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    key, line = create_key()
    base = await walletdoctor(api_keys=line)
    wallet = emulator.synthetic("client-keys", 30)

    with pytest.raises(Unauthorized) as refused:
        async with WalletStream(base, wallet, api_key="wd_" + "x" * 32) as stream:
            [event async for event in stream]
    assert refused.value.status == 401 and refused.value.code is ErrorCode.UNAUTHORIZED

    with pytest.raises(BadRequest) as invalid:
        async with WalletStream(base, "not-a-wallet", api_key=key) as stream:
            [event async for event in stream]
    assert invalid.value.code is ErrorCode.INVALID_ADDRESS

    async with WalletStream(base, wallet, api_key=key) as stream:
        events = [event async for event in stream]
    assert isinstance(events[-1], CompleteEvent)
