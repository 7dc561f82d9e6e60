"""The main job: the bundled real wallet streamed end to end through the emulator."""

from __future__ import annotations

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.helius.emulator.recorded import load_recorded_wallet

from tests.conftest import REAL_WALLET, Emulator, ServerFactory, read_stream


async def test_the_real_wallet_streams_every_extracted_swap(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    history = load_recorded_wallet()
    expected = [
        trade.signature
        for trade in (extract_trade(history.transaction(i), REAL_WALLET) for i in range(len(history)))
        if trade is not None
    ]
    base = await walletdoctor()
    record = await read_stream(f"{base}/v4/wallet/{REAL_WALLET}/stream")

    assert record.events[0].event == "connected" and record.last.event == "complete"
    trades = record.trades()
    assert [t["signature"] for t in trades] == expected
    assert record.data("complete")[0]["trades_found"] == len(expected) > 6000
    assert all(len(batch["trades"]) == 100 for batch in record.data("trades")[:-1])
    by_signature = {t["signature"]: t for t in trades}
    lub_sale = by_signature[
        "5g5rkbqii8rkHfgC8CWLDB2bBzKeoXcqmjyFbMvxUW9xXEEHnFc1QRqiG9eEcxdmLk6XgjVpJRnwYqqbWZKg3eBP"
    ]
    assert (lub_sale["token_in"], lub_sale["token_out"], lub_sale["side"]) == ("lub", "SOL", "sell")
    assert (lub_sale["amount_in"], lub_sale["amount_out"]) == ("1986656.546333", "0.077849895")
