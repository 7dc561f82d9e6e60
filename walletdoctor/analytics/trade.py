"""The trade model: one swap from the wallet's own point of view.

A trade is what the wallet *gave* (``token_in``) and what it *got*
(``token_out``), net of intermediate hops, in UI units. The wire form is
the trade object of the stream contract (DESIGN section 1); decimal
quantities are sent as JSON strings so that no precision is lost to
binary floating point.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from walletdoctor.solana import NATIVE_SOL_MINT, USD_STABLECOIN_MINTS

__all__ = ["Side", "Trade", "decimal_text"]


class Side(str, enum.Enum):
    """Direction of a trade against its quote asset (SOL or a USD stablecoin)."""

    BUY = "buy"
    SELL = "sell"
    SWAP = "swap"

    @classmethod
    def of(cls, mint_in: str, mint_out: str) -> Side:
        """Classify a trade that gives ``mint_in`` and gets ``mint_out``.

        Quote assets rank USD stablecoins above SOL, so SOL -> USDC is a sell
        of SOL and USDC -> SOL a buy of SOL; two stablecoins, or two
        non-quote tokens, make a plain ``swap``.
        """
        rank_in, rank_out = _quote_rank(mint_in), _quote_rank(mint_out)
        if rank_in > rank_out:
            return cls.BUY
        if rank_out > rank_in:
            return cls.SELL
        return cls.SWAP


def _quote_rank(mint: str) -> int:
    if mint in USD_STABLECOIN_MINTS:
        return 2
    if mint == NATIVE_SOL_MINT:
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade of the wallet.

    Attributes:
        signature: transaction signature (base58).
        slot: slot the transaction landed in.
        timestamp: block time, unix seconds.
        source: the DEX / program as Helius names it (``RAYDIUM``, ``PUMP_AMM`` ...).
        token_in_mint / token_out_mint: mints given and got; native SOL is
            reported as the wrapped-SOL mint.
        amount_in / amount_out: UI amounts given and got, net of hops.
        fee_sol: what the wallet paid beside the swap itself, in SOL: the
            network fee when it paid it, plus tips and protocol-fee legs.
        token_in / token_out: symbols where known, else ``None`` (the wire
            form then falls back to the mint).
        value_usd: USD value of the trade, ``None`` when unpriced.
        pnl_usd / pnl_sol: realized P&L of a sell in USD / SOL, ``None`` until
            known (only streams in ascending order know it as they go).
        sol_price_usd: SOL's USD price at the trade's time, ``None`` when
            unknown; used to express values and fees in both currencies, not
            sent on the wire.
    """

    signature: str
    slot: int
    timestamp: int
    source: str
    token_in_mint: str
    token_out_mint: str
    amount_in: Decimal
    amount_out: Decimal
    fee_sol: Decimal
    token_in: str | None = None
    token_out: str | None = None
    value_usd: Decimal | None = None
    pnl_usd: Decimal | None = None
    pnl_sol: Decimal | None = None
    sol_price_usd: Decimal | None = None

    @property
    def side(self) -> Side:
        """``buy`` / ``sell`` against the quote asset, ``swap`` when neither leg is one."""
        return Side.of(self.token_in_mint, self.token_out_mint)

    @property
    def price(self) -> Decimal | None:
        """Quote units per token; for a ``swap``, ``token_in`` units per ``token_out``.

        ``None`` when the priced leg is zero (a degenerate transaction).
        """
        if self.side is Side.SELL:
            numerator, denominator = self.amount_out, self.amount_in
        else:
            numerator, denominator = self.amount_in, self.amount_out
        if not denominator:
            return None
        return numerator / denominator

    def to_wire(self) -> dict[str, Any]:
        """The trade object of the stream contract, ready for orjson.

        Decimals become strings; symbols fall back to mints.
        """
        price = self.price
        return {
            "signature": self.signature,
            "slot": self.slot,
            "timestamp": self.timestamp,
            "source": self.source,
            "side": self.side.value,
            "token_in": self.token_in or self.token_in_mint,
            "token_out": self.token_out or self.token_out_mint,
            "token_in_mint": self.token_in_mint,
            "token_out_mint": self.token_out_mint,
            "amount_in": decimal_text(self.amount_in),
            "amount_out": decimal_text(self.amount_out),
            "price": None if price is None else decimal_text(price),
            "value_usd": None if self.value_usd is None else decimal_text(self.value_usd),
            "fee_sol": decimal_text(self.fee_sol),
            "pnl_usd": None if self.pnl_usd is None else decimal_text(self.pnl_usd),
            "pnl_sol": None if self.pnl_sol is None else decimal_text(self.pnl_sol),
        }


#: Quotients such as ``price`` carry 28 digits; 18 significant digits are
#: more than any UI amount on Solana has (u64 raw amounts have at most 20).
_WIRE_CONTEXT = Context(prec=18)


def decimal_text(value: Decimal) -> str:
    """Plain decimal text (no exponent), at most 18 significant digits, no trailing zeros.

    The one rule for every decimal WalletDoctor sends (trade objects, summaries).
    """
    text = format(_WIRE_CONTEXT.plus(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
