"""Building the recorded prices from the activity export: derived prices, legs, and the shipped file."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

from walletdoctor.birdeye import fixture
from walletdoctor.birdeye.prices_book import FIXTURE
from walletdoctor.solana import NATIVE_SOL_MINT

MEME = "MemeMint111111111111111111111111111111111111"


def row(**fields: str) -> dict[str, str]:
    base = {
        "tx_type": "swap",
        "timestamp": "2025-06-28T15:57:02Z",
        "token0_address": "native",
        "token0_amount": "1.5",
        "token0_amount_usd": "225",
        "token1_address": MEME,
        "token1_amount": "20000000",
        "token1_amount_usd": "0.3",
    }
    base.update(fields)
    return base


def test_prices_are_usd_amount_over_amount_for_both_legs() -> None:
    prices = fixture.build_prices([row()])
    when = 1751126222
    assert prices[NATIVE_SOL_MINT] == [(when, Decimal(150))]
    # 1.5e-8 USD: the export's 6-decimal price column would say 0.000000.
    assert prices[MEME] == [(when, Decimal("0.3") / Decimal("20000000"))]


def test_non_swaps_and_unpriced_legs_give_no_points() -> None:
    prices = fixture.build_prices(
        [row(tx_type="transfer"), row(token0_amount_usd="0.000000", token1_amount="0"), row(token1_amount_usd="")]
    )
    assert set(prices) == {NATIVE_SOL_MINT}
    assert len(prices[NATIVE_SOL_MINT]) == 1


def test_the_largest_leg_of_a_second_gives_its_price() -> None:
    prices = fixture.build_prices(
        [row(token0_amount="0.001", token0_amount_usd="0.151"), row(), row(token0_amount="1", token0_amount_usd="149")]
    )
    assert prices[NATIVE_SOL_MINT] == [(1751126222, Decimal(150))]


def test_the_shipped_fixture_is_what_the_script_builds(shared_data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "prices.json.gz"
    export = shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv"
    assert fixture.main(["--export", str(export), "--out", str(out)]) == 0
    shipped = resources.files("walletdoctor.birdeye").joinpath(FIXTURE).read_bytes()
    assert out.read_bytes() == shipped
