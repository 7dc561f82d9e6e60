from decimal import Decimal

import pytest

from walletdoctor.analytics.trade import Side, Trade
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT

LUB = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"


def _trade(mint_in: str, amount_in: str, mint_out: str, amount_out: str) -> Trade:
    return Trade(
        signature="sig",
        slot=1,
        timestamp=2,
        source="RAYDIUM",
        token_in_mint=mint_in,
        token_out_mint=mint_out,
        amount_in=Decimal(amount_in),
        amount_out=Decimal(amount_out),
        fee_sol=Decimal("0.008005"),
    )


@pytest.mark.parametrize(
    ("mint_in", "mint_out", "side"),
    [
        (NATIVE_SOL_MINT, LUB, Side.BUY),
        (LUB, NATIVE_SOL_MINT, Side.SELL),
        (USDC_MINT, LUB, Side.BUY),
        (NATIVE_SOL_MINT, USDC_MINT, Side.SELL),  # SOL sold for dollars
        (USDC_MINT, NATIVE_SOL_MINT, Side.BUY),
        (LUB, "B91Nyc6SnWqr5DRR34eEMKuZrWh4zBhW9VhX4UNLpump", Side.SWAP),
    ],
)
def test_side_against_the_quote_asset(mint_in: str, mint_out: str, side: Side) -> None:
    assert Side.of(mint_in, mint_out) is side


def test_sell_price_is_quote_per_token() -> None:
    trade = _trade(LUB, "1986656.546333", NATIVE_SOL_MINT, "0.077849895")
    assert trade.price == Decimal("0.077849895") / Decimal("1986656.546333")


def test_buy_price_is_quote_per_token() -> None:
    trade = _trade(NATIVE_SOL_MINT, "1.98", LUB, "1986656.546333")
    assert trade.price == Decimal("1.98") / Decimal("1986656.546333")


def test_zero_amount_has_no_price() -> None:
    assert _trade(NATIVE_SOL_MINT, "1", LUB, "0").price is None


def test_wire_form_uses_strings_for_decimals_and_mints_without_symbols() -> None:
    wire = _trade(LUB, "1986656.546333", NATIVE_SOL_MINT, "0.077849895").to_wire()
    assert wire["token_in"] == LUB
    assert wire["token_out"] == NATIVE_SOL_MINT
    assert wire["amount_in"] == "1986656.546333"
    assert wire["amount_out"] == "0.077849895"
    assert wire["fee_sol"] == "0.008005"
    assert wire["side"] == "sell"
    assert wire["value_usd"] is None and wire["pnl_usd"] is None
    assert "e" not in wire["price"].lower()
    assert Decimal(wire["price"]) == pytest.approx(Decimal("0.077849895") / Decimal("1986656.546333"))


def test_wire_form_prefers_symbols() -> None:
    trade = _trade(LUB, "1", NATIVE_SOL_MINT, "2")
    from dataclasses import replace

    wire = replace(trade, token_in="lub", token_out="SOL").to_wire()
    assert (wire["token_in"], wire["token_out"]) == ("lub", "SOL")
    assert wire["token_in_mint"] == LUB
