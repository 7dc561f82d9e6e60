"""The recorded real wallet as the emulator serves it: the shipped fixture behind ``WalletHistory``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import base58
import orjson
import pytest

from walletdoctor.helius.emulator.history import WalletBook
from walletdoctor.helius.emulator.recorded import (
    RecordedWallet,
    load_recorded_wallet,
    parse_fixture,
)
from walletdoctor.solana import NATIVE_SOL_MINT

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"


@pytest.fixture(scope="module")
def wallet() -> RecordedWallet:
    return load_recorded_wallet()


def test_loaded_once_per_process(wallet: RecordedWallet) -> None:
    assert load_recorded_wallet() is wallet
    assert wallet.address == WALLET
    assert len(wallet) == 7439


def test_signature_infos_index_every_transaction(wallet: RecordedWallet) -> None:
    previous_slot = None
    for index in range(len(wallet)):
        info = wallet.signature_info(index)
        assert wallet.index_of(info["signature"]) == index
        assert info["confirmationStatus"] == "finalized" and info["memo"] is None and info["err"] is None
        assert previous_slot is None or info["slot"] <= previous_slot
        previous_slot = info["slot"]


def test_signatures_are_64_byte_base58(wallet: RecordedWallet) -> None:
    lengths = {len(base58.b58decode(wallet.signature_info(i)["signature"])) for i in range(len(wallet))}
    assert lengths == {64}


def test_signature_info_agrees_with_the_transaction(wallet: RecordedWallet) -> None:
    for index in (0, 6, 1000, len(wallet) - 1):
        info, tx = wallet.signature_info(index), wallet.transaction(index)
        assert (info["signature"], info["slot"], info["blockTime"]) == (tx["signature"], tx["slot"], tx["timestamp"])


def test_unknown_signatures_and_indexes(wallet: RecordedWallet) -> None:
    assert wallet.index_of("1" * 88) is None
    assert wallet.index_of("not a signature") is None
    for index in (-1, len(wallet)):
        with pytest.raises(IndexError):
            wallet.signature_info(index)
        with pytest.raises(IndexError):
            wallet.transaction(index)


def test_each_call_returns_a_fresh_transaction(wallet: RecordedWallet) -> None:
    first = wallet.transaction(0)
    first["tokenTransfers"].append("mutated")
    first["slot"] = -1
    assert wallet.transaction(0) != first
    assert wallet.transaction(0)["slot"] > 0


def test_the_recorded_page_is_served_verbatim(wallet: RecordedWallet, shared_data_dir: Path) -> None:
    page = json.loads((shared_data_dir / "helius" / "3JoVBiQE_address_transactions_page1.json").read_text())
    for tx in page:
        index = wallet.index_of(tx["signature"])
        assert index is not None
        assert wallet.transaction(index) == tx
    assert wallet.transaction(0) == page[0]  # the newest transaction of the history is the page's first


def test_assets_name_every_mint_moved(wallet: RecordedWallet) -> None:
    assets = wallet.assets()
    assert assets[NATIVE_SOL_MINT]["decimals"] == 9
    for index in range(0, len(wallet), 97):
        for transfer in wallet.transaction(index)["tokenTransfers"]:
            assert transfer["mint"] in assets


def test_quirky_signatures_are_in_the_history(wallet: RecordedWallet) -> None:
    quirky = wallet.quirks["unscaled_wsol"]
    assert quirky
    for signature in quirky:
        index = wallet.index_of(signature)
        assert index is not None
        amounts = [t["tokenAmount"] for t in wallet.transaction(index)["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
        assert amounts and all(isinstance(a, int) for a in amounts)


def test_served_through_a_wallet_book(wallet: RecordedWallet) -> None:
    book = WalletBook([wallet])
    signature = wallet.signature_info(100)["signature"]
    assert book.get(WALLET) is wallet
    assert book.find_transaction(signature) == wallet.transaction(100)
    assert orjson.loads(book.find_transaction_json(signature) or b"null") == wallet.transaction(100)
    assert book.find_asset("2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon") == {
        "symbol": "lub", "name": "lub", "decimals": 6}


def _fixture_bytes(header: dict[str, object], transactions: list[dict[str, object]]) -> bytes:
    return gzip.compress(b"\n".join([orjson.dumps(header), *map(orjson.dumps, transactions)]) + b"\n")


def _tx(signature: str, slot: int) -> dict[str, object]:
    return {"signature": signature, "slot": slot, "timestamp": slot, "transactionError": None}


def test_parse_fixture_checks_the_announced_count() -> None:
    header = {"address": WALLET, "count": 3, "assets": {}, "quirks": {}}
    with pytest.raises(ValueError, match="announces 3"):
        parse_fixture(_fixture_bytes(header, [_tx("a", 2), _tx("b", 1)]))


def test_parse_fixture_rejects_a_repeated_signature() -> None:
    header = {"address": WALLET, "count": 2, "assets": {}, "quirks": {}}
    with pytest.raises(ValueError, match="twice"):
        parse_fixture(_fixture_bytes(header, [_tx("a", 2), _tx("a", 1)]))


def test_failed_transactions_report_a_json_rpc_error() -> None:
    failed = dict(_tx("f", 5), transactionError={"error": "custom program error: 0x1771"})
    header = {"address": WALLET, "count": 1, "assets": {}, "quirks": {}}
    wallet = parse_fixture(_fixture_bytes(header, [failed]))
    assert wallet.signature_info(0)["err"] == {"InstructionError": [3, {"Custom": 6001}]}
