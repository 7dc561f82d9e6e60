"""Synthetic wallets: deterministic, any size, recoverable signatures, transactions like the real ones."""

from __future__ import annotations

import time
from collections import Counter
from itertools import pairwise

import base58
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletdoctor.helius.emulator.draft import inconsistencies
from walletdoctor.helius.emulator.synthetic import MAX_SIZE, SyntheticWallet
from walletdoctor.solana import NATIVE_SOL_MINT, InvalidAddressError

ADDRESS = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
OTHER = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
BIG = 200_000
SAMPLE = 3000


@pytest.fixture(scope="module")
def wallet() -> SyntheticWallet:
    return SyntheticWallet(ADDRESS, BIG)


def test_same_address_same_history_other_address_other_history(wallet: SyntheticWallet) -> None:
    twin, other = SyntheticWallet(ADDRESS, BIG), SyntheticWallet(OTHER, BIG)
    for index in (0, 1, 77, BIG - 1):
        assert twin.transaction(index) == wallet.transaction(index)
        assert twin.signature_info(index) == wallet.signature_info(index)
        assert other.signature_info(index)["signature"] != wallet.signature_info(index)["signature"]
    assert twin.assets() == wallet.assets()
    assert set(other.assets()).isdisjoint(set(wallet.assets()) - {NATIVE_SOL_MINT, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
                                                                   "FZN7QZ8ZUUAxMPfxYEYkH3cXUASzH8EqA6B4tyCL8f1j"})


def test_a_smaller_wallet_is_a_prefix_of_a_bigger_one(wallet: SyntheticWallet) -> None:
    small = SyntheticWallet(ADDRESS, 100)
    assert [small.signature_info(i) for i in range(100)] == [wallet.signature_info(i) for i in range(100)]


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=BIG - 1))
def test_signatures_are_64_byte_base58_and_decode_to_their_index(index: int) -> None:
    wallet = SyntheticWallet(ADDRESS, BIG)
    signature = wallet.signature_info(index)["signature"]
    assert len(base58.b58decode(signature)) == 64
    assert 86 <= len(signature) <= 88
    assert wallet.index_of(signature) == index
    assert wallet.transaction(index)["signature"] == signature


def test_foreign_and_malformed_signatures_are_rejected(wallet: SyntheticWallet) -> None:
    other = SyntheticWallet(OTHER, BIG)
    bigger = SyntheticWallet(ADDRESS, BIG + 10)
    assert wallet.index_of(other.signature_info(5)["signature"]) is None
    assert wallet.index_of(bigger.signature_info(BIG + 3)["signature"]) is None  # beyond this wallet's size
    real = "5g5rkbqii8rkHfgC8CWLDB2bBzKeoXcqmjyFbMvxUW9xXEEHnFc1QRqiG9eEcxdmLk6XgjVpJRnwYqqbWZKg3eBP"
    tampered = list(wallet.signature_info(9)["signature"])
    tampered[-1] = "2" if tampered[-1] != "2" else "3"
    for signature in (real, "".join(tampered), "0OIl", "", "1" * 88, ADDRESS):
        assert wallet.index_of(signature) is None


def test_signatures_look_random_from_the_first_character(wallet: SyntheticWallet) -> None:
    heads = {wallet.signature_info(index)["signature"][:3] for index in range(200)}
    assert len(heads) > 150


def test_time_and_slots_strictly_decrease(wallet: SyntheticWallet) -> None:
    for start in (0, 5000, BIG - 400):
        infos = [wallet.signature_info(index) for index in range(start, start + 300)]
        assert all(a["slot"] > b["slot"] and a["blockTime"] > b["blockTime"] for a, b in pairwise(infos))
    assert wallet.signature_info(BIG - 1)["slot"] > 0


def test_the_mix_looks_like_a_memecoin_trader(wallet: SyntheticWallet) -> None:
    kinds: Counter[str] = Counter()
    for index in range(SAMPLE):
        tx = wallet.transaction(index)
        failed = tx["transactionError"] is not None
        assert (wallet.signature_info(index)["err"] is not None) == failed
        if tx["type"] == "TRANSFER":
            kinds["transfer"] += 1
        else:
            assert tx["type"] == "SWAP" and tx["source"] in {"PUMP_AMM", "METEORA", "RAYDIUM"}
            kinds["swap"] += 1
            kinds["failed"] += failed
            kinds["event"] += "swap" in tx["events"]
            kinds[tx["source"]] += 1
    assert 0.12 < kinds["transfer"] / SAMPLE < 0.18
    assert 0.004 < kinds["failed"] / SAMPLE < 0.02
    assert 0.02 < kinds["event"] / kinds["swap"] < 0.07
    assert min(kinds["PUMP_AMM"], kinds["METEORA"], kinds["RAYDIUM"]) > kinds["swap"] / 6


def test_every_transaction_balances(wallet: SyntheticWallet) -> None:
    problems = {index: found for index in range(0, BIG, BIG // SAMPLE)
                if (found := inconsistencies(wallet.transaction(index)))}
    assert problems == {}


def test_failed_swaps_move_nothing(wallet: SyntheticWallet) -> None:
    failed = [tx for tx in map(wallet.transaction, range(SAMPLE)) if tx["transactionError"]]
    assert failed
    for tx in failed:
        assert tx["tokenTransfers"] == tx["nativeTransfers"] == [] and tx["events"] == {}


def test_assets_cover_every_mint_moved(wallet: SyntheticWallet) -> None:
    mints = {t["mint"] for index in range(SAMPLE) for t in wallet.transaction(index)["tokenTransfers"]}
    assert mints <= wallet.assets().keys()
    symbols = [asset["symbol"] for asset in wallet.assets().values() if asset["symbol"]]
    assert all(symbol.isalpha() and symbol.isupper() for symbol in symbols)


def test_bounds() -> None:
    wallet = SyntheticWallet(ADDRESS, 3)
    assert len(wallet) == 3
    for index in (-1, 3):
        with pytest.raises(IndexError):
            wallet.transaction(index)
        with pytest.raises(IndexError):
            wallet.signature_info(index)
    assert len(SyntheticWallet(ADDRESS, 0)) == 0
    with pytest.raises(ValueError):
        SyntheticWallet(ADDRESS, MAX_SIZE + 1)
    with pytest.raises(ValueError):
        SyntheticWallet(ADDRESS, -1)
    with pytest.raises(InvalidAddressError):
        SyntheticWallet("not-an-address", 10)


def test_size_costs_nothing_up_front() -> None:
    started = time.perf_counter()
    wallet = SyntheticWallet(ADDRESS, MAX_SIZE)
    assert time.perf_counter() - started < 0.5
    oldest = [wallet.signature_info(index) for index in range(MAX_SIZE - 50, MAX_SIZE)]
    assert wallet.index_of(oldest[-1]["signature"]) == MAX_SIZE - 1
    assert all(a["slot"] > b["slot"] > 0 and a["blockTime"] > b["blockTime"] > 0 for a, b in pairwise(oldest))


def test_generation_is_fast_enough_for_benchmarks(wallet: SyntheticWallet) -> None:
    """About 50 us a transaction here; the bound leaves room for a loaded CI machine."""
    started = time.process_time()
    for index in range(5000):
        wallet.transaction(index)
    assert time.process_time() - started < 2.0


def test_an_encoded_transaction_is_the_transaction_and_is_made_once(wallet: SyntheticWallet) -> None:
    assert orjson.loads(wallet.transaction_json(7)) == wallet.transaction(7)
    assert wallet.transaction_json(7) is wallet.transaction_json(7), "encoded once, then reused"
    with pytest.raises(IndexError):
        wallet.transaction_json(len(wallet))
