"""The price book the Birdeye emulator serves: recorded, filled, synthetic SOL, and the shipped recording."""

from __future__ import annotations

import gzip
import time
from decimal import Decimal

import pytest

from walletdoctor.birdeye.prices_book import (
    SYNTHETIC_SOL_BASE_USD,
    PriceBook,
    load_recorded_prices,
    parse_prices,
    synthetic_sol_price,
)
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT

TOKEN = "Token1111111111111111111111111111111111111"


@pytest.fixture
def book() -> PriceBook:
    return PriceBook(
        {
            TOKEN: [(2000, Decimal("0.5")), (1000, Decimal("0.25")), (1000, Decimal("9"))],
            NATIVE_SOL_MINT: [(100_000, Decimal("140")), (200_000, Decimal("160"))],
        }
    )


def test_recorded_points_are_sorted_and_the_first_of_a_timestamp_wins(book: PriceBook) -> None:
    assert book.recorded_points(TOKEN) == [(1000, Decimal("0.25")), (2000, Decimal("0.5"))]
    assert book.mints() == {TOKEN, NATIVE_SOL_MINT}
    assert book.recorded_points(USDC_MINT) == []


def test_a_token_has_its_last_recorded_price_inside_its_range_and_none_outside(book: PriceBook) -> None:
    assert book.price_at(TOKEN, 1000) == Decimal("0.25")
    assert book.price_at(TOKEN, 1999) == Decimal("0.25")
    assert book.price_at(TOKEN, 2000) == Decimal("0.5")
    assert book.price_at(TOKEN, 999) is None and book.price_at(TOKEN, 2001) is None
    assert book.price_at(USDC_MINT, 1500) is None


def test_sol_outside_its_range_follows_the_synthetic_curve_from_the_nearest_recorded_price(book: PriceBook) -> None:
    assert book.price_at(NATIVE_SOL_MINT, 150_000) == Decimal("140")
    before, after = book.price_at(NATIVE_SOL_MINT, 99_999), book.price_at(NATIVE_SOL_MINT, 200_001)
    assert before is not None and abs(before - 140) < Decimal("0.01")
    assert after is not None and abs(after - 160) < Decimal("0.01")
    far = book.price_at(NATIVE_SOL_MINT, 10**9)
    assert far is not None and Decimal(100) < far < Decimal(200)
    assert PriceBook({TOKEN: []}, synthetic_sol=False).price_at(NATIVE_SOL_MINT, 5) is None


def test_the_synthetic_curve_is_deterministic_and_near_its_base() -> None:
    prices = [synthetic_sol_price(t) for t in range(1_600_000_000, 1_800_000_000, 97_531)]
    assert prices == [synthetic_sol_price(t) for t in range(1_600_000_000, 1_800_000_000, 97_531)]
    low, high = SYNTHETIC_SOL_BASE_USD * Decimal("0.87"), SYNTHETIC_SOL_BASE_USD * Decimal("1.13")
    assert all(low <= p <= high and p == p.quantize(Decimal("0.000001")) for p in prices)
    assert synthetic_sol_price(500, (500, Decimal("42"))) == Decimal("42.000000")


def test_history_is_aligned_capped_and_fast_over_any_range(book: PriceBook) -> None:
    hourly = book.history(NATIVE_SOL_MINT, 300_001, 320_000, 3600, 1000)
    assert [when for when, _ in hourly] == [302_400 + 3600 * k for k in range(5)]
    assert len(book.history(NATIVE_SOL_MINT, 0, 10**9, 60, 1000)) == 1000
    started = time.perf_counter()
    assert book.history(TOKEN, 0, 10**10, 60, 1000) == [(1000, Decimal("0.25"))] + [
        (1020 + 60 * k, Decimal("0.25")) for k in range(16)
    ] + [(2000, Decimal("0.5"))]
    assert time.perf_counter() - started < 0.5  # jumps to the token's range instead of walking 10**10 s


def test_parse_refuses_what_is_not_a_fixture() -> None:
    with pytest.raises(ValueError):
        parse_prices(b"not gzip")
    with pytest.raises(ValueError):
        parse_prices(gzip.compress(b'{"points": 0}'))


def test_the_shipped_recording_is_the_real_wallets() -> None:
    book = load_recorded_prices()
    assert book is load_recorded_prices()
    assert len(book.mints()) == 819 and NATIVE_SOL_MINT in book.mints()
    assert sum(len(book.recorded_points(mint)) for mint in book.mints()) == 12_694
    sol = book.recorded_points(NATIVE_SOL_MINT)
    assert sol[0][0] == 1_745_794_907 and sol[-1][0] == 1_751_126_222
    assert all(Decimal(100) < price < Decimal(200) for _, price in sol)
