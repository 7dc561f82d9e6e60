"""A running count of a stream's trades, for the ``complete`` event's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from walletdoctor.analytics.trade import Side, Trade

__all__ = ["TradeTally"]


@dataclass(slots=True)
class TradeTally:
    """Counts of trades by side, the mints traded, and the time span covered.

    Fed one trade at a time in any order; :meth:`to_summary` gives the JSON
    summary (timestamps in unix seconds).
    """

    trades: int = 0
    by_side: dict[Side, int] = field(default_factory=lambda: dict.fromkeys(Side, 0))
    mints: set[str] = field(default_factory=set)
    first_timestamp: int | None = None
    last_timestamp: int | None = None

    def add(self, trade: Trade) -> None:
        """Count ``trade``."""
        self.trades += 1
        self.by_side[trade.side] += 1
        self.mints.add(trade.token_in_mint)
        self.mints.add(trade.token_out_mint)
        if self.first_timestamp is None or trade.timestamp < self.first_timestamp:
            self.first_timestamp = trade.timestamp
        if self.last_timestamp is None or trade.timestamp > self.last_timestamp:
            self.last_timestamp = trade.timestamp

    def to_summary(self) -> dict[str, Any]:
        """``{"trades_found", "buys", "sells", "swaps", "tokens_traded", "first_trade_at", "last_trade_at"}``."""
        return {
            "trades_found": self.trades,
            "buys": self.by_side[Side.BUY],
            "sells": self.by_side[Side.SELL],
            "swaps": self.by_side[Side.SWAP],
            "tokens_traded": len(self.mints),
            "first_trade_at": self.first_timestamp,
            "last_trade_at": self.last_timestamp,
        }
