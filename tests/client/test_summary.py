"""The typed summary reads exactly what the server's WalletSummary writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from walletdoctor.analytics.summary import WalletSummary
from walletdoctor.analytics.trade import Trade as ServerTrade
from walletdoctor.client.summary import Summary, TokenStats
from walletdoctor.solana import NATIVE_SOL_MINT

TOKEN = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"


def server_summary() -> dict[str, object]:
    """A summary built by the server's own code: a buy then a profitable sell of one token."""
    summary = WalletSummary()
    summary.add(ServerTrade("b", 1, 1_700_000_000, "RAYDIUM", NATIVE_SOL_MINT, TOKEN, Decimal(2), Decimal(1000),
                            Decimal("0.001"), token_out="lub", value_usd=Decimal(300),
                            sol_price_usd=Decimal(150)))
    summary.add(ServerTrade("s", 2, 1_700_000_600, "RAYDIUM", TOKEN, NATIVE_SOL_MINT, Decimal(1000), Decimal(3),
                            Decimal("0.001"), token_in="lub", value_usd=Decimal(450),
                            sol_price_usd=Decimal(150)))
    # The stream's pipeline adds these two to WalletSummary's own keys.
    return summary.to_summary() | {"transactions_scanned": 3, "transactions_missing": 0}


def test_every_key_of_the_server_summary_is_typed_and_round_trips() -> None:
    wire = server_summary()
    summary = Summary.from_json(wire)
    assert summary.extra == {}
    assert summary.trades_found == 2 and (summary.buys, summary.sells) == (1, 1)
    assert summary.realized_pnl_sol is not None and summary.realized_pnl_sol > 0
    (token,) = summary.tokens
    assert token.mint == TOKEN and token.symbol == "lub" and token.holding_time_s == 600
    assert summary.to_json() == wire


def test_unknown_keys_are_kept_and_missing_ones_are_none() -> None:
    summary = Summary.from_json({"trades_found": 3, "transactions_scanned": 10, "new_metric": {"x": 1}})
    assert summary.transactions_scanned == 10 and summary.buys is None and summary.tokens == ()
    assert summary.extra == {"new_metric": {"x": 1}}
    assert summary.to_json()["new_metric"] == {"x": 1}


@pytest.mark.parametrize(
    "data",
    [{}, {"trades_found": "3"}, {"trades_found": 3, "win_rate": 0.5}, {"trades_found": 3, "tokens": {}},
     {"trades_found": 3, "tokens": [{"symbol": "x"}]}],
)
def test_mistyped_summaries_are_refused(data: dict[str, object]) -> None:
    with pytest.raises((KeyError, TypeError)):
        Summary.from_json(data)


def test_token_stats_need_only_a_mint() -> None:
    assert TokenStats.from_json({"mint": TOKEN}) == TokenStats(mint=TOKEN)
