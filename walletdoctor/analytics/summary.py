"""A wallet's trading summary: totals, realized P&L, win rates and per-token stats.

Fed trades in any order (a stream sends the newest first), it counts what
does not depend on order as they come and keeps, per trade that moves a
token position, one compact string; at the end it sorts those oldest first
and replays them through a :class:`~walletdoctor.analytics.pnl.PositionBook`
(the cost-basis rules are that module's). The result is the ``summary`` of
the stream's ``complete`` event (DESIGN sections 1 and 3).
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from walletdoctor.analytics.pnl import BookEntry, CostBasisMethod, Position, PositionBook
from walletdoctor.analytics.trade import Side, Trade
# One Decimal-to-text rule for the whole wire form: the trade object's.
from walletdoctor.analytics.trade import decimal_text
from walletdoctor.solana import QUOTE_MINTS

__all__ = ["RUN_RECORDS", "WalletSummary"]

#: Digits of the zero-padded timestamp and slot that start each record, so
#: that records sort as (timestamp, slot, signature) by plain string order.
_KEY_DIGITS = 12
_NONE = "-"
#: Records held in memory before they go, sorted, to a temporary file (about 4.6 MB).
RUN_RECORDS = 20_000


class WalletSummary:
    """Builds the ``complete`` event's summary from a wallet's trades.

    Args:
        method: cost basis, FIFO (default) or AVERAGE (FACTS 2.2).

    :meth:`add` takes each trade once, in any order; :meth:`to_summary`
    sorts them by (timestamp, slot, signature), books them oldest first and
    returns a JSON-ready dict (:meth:`close` it when done: a big history
    keeps temporary files) (Decimals as plain strings, times in unix
    seconds, ``None`` for what is unknown):

    - ``trades_found``; ``buys`` / ``sells`` / ``swaps``: trades by
      :class:`~walletdoctor.analytics.trade.Side`.
    - ``priced_trades``: trades with a ``value_usd``; ``total_volume_usd``:
      the sum of those values; ``total_fees_sol``: every trade's ``fee_sol``.
    - ``sales``: sales of a token position, that is sells and the sold leg
      of token-to-token swaps (a SOL <-> stablecoin trade sells no
      position); ``sales_with_pnl_usd`` / ``sales_with_pnl_sol``: those
      whose realized P&L is known in that currency.
    - ``realized_pnl_usd`` / ``realized_pnl_sol``: the sum of the sales'
      realized P&L known in that currency; ``None`` when there were sales
      and none is known.
    - ``win_rate``: per closed trade, as Cielo and Birdeye count it (FACTS
      2.3): the share of sales with a realized P&L above zero, among the
      sales whose P&L is known; a sale is judged in USD when its USD P&L is
      known, else in SOL. ``None`` without any such sale.
    - ``token_win_rate``: per token, as the original WalletDoctor's "Token
      Win Rate" (FACTS 2.3): the share of tokens whose realized P&L, summed
      over their sales, is above zero, among tokens with at least one sale;
      summed in USD when every sale of the token has a USD P&L, else in SOL
      when every one has a SOL P&L, else the token is left out.
    - ``tokens_traded``: distinct tokens (not SOL nor stablecoins);
      ``first_trade_at`` / ``last_trade_at``; ``cost_basis_method``.
    - ``tokens``: one dict per token, by ``realized_pnl_usd`` descending,
      unknown last, then by ``realized_pnl_sol`` likewise, then by mint:
      ``mint``, ``symbol``; ``buys`` / ``sells``: trades that got / gave
      it, swap legs included; ``volume_usd``: the sum of their known
      ``value_usd``; ``realized_pnl_usd`` / ``realized_pnl_sol`` as for the
      wallet; ``roi`` / ``roi_sol``: realized P&L over the cost basis of
      the sales it comes from, as a ratio (0.5 = +50 %, like GMGN's
      ``profit_change``, FACTS 2.3), ``None`` when that cost is zero or
      unknown; ``first_trade_at`` / ``last_trade_at`` / ``first_buy_at`` /
      ``last_sell_at``; ``holding_time_s``: first buy to last sale, or to
      the last trade while tokens are still open, ``None`` without a
      recorded buy; ``open_amount`` with ``open_cost_basis_usd`` /
      ``open_cost_basis_sol``; ``unmatched_sell_amount``: amount sold
      beyond the recorded buys, booked at zero cost.

    Cost: per position-moving trade one string of about 230 bytes (mints
    are numbered, not repeated); past :data:`RUN_RECORDS` of them, they go
    sorted to temporary files (a 200k-trade wallet would hold 48 MB), merged
    back when booked, so memory stays flat; none for the
    others. :meth:`to_summary` books every trade again, about 10 us each
    (2 to 3 s for 200k): run it off the event loop.
    """

    __slots__ = (
        "_by_side",
        "_fees_sol",
        "_first",
        "_last",
        "_method",
        "_mints",
        "_priced",
        "_records",
        "_runs",
        "_symbols",
        "_trades",
        "_volume_usd",
    )

    def __init__(self, method: CostBasisMethod = CostBasisMethod.FIFO) -> None:
        self._method = CostBasisMethod(method)
        self._trades = 0
        self._by_side = dict.fromkeys(Side, 0)
        self._priced = 0
        self._volume_usd = Decimal(0)
        self._fees_sol = Decimal(0)
        self._first: int | None = None
        self._last: int | None = None
        #: Mint -> its number in the records (a dict keeps insertion order).
        self._mints: dict[str, int] = {}
        self._symbols: dict[str, str] = {}
        self._records: list[str] = []
        #: Sorted runs of records that went to temporary files (big wallets).
        self._runs: list[IO[str]] = []

    @property
    def trades_found(self) -> int:
        """Trades added so far."""
        return self._trades

    def add(self, trade: Trade) -> None:
        """Count ``trade`` and keep what its P&L needs.

        Raises:
            ValueError: a timestamp or slot outside 0..10**12 - 1, or a
                signature with a space (it could not be ordered).
        """
        limit = 10**_KEY_DIGITS
        if not (0 <= trade.timestamp < limit and 0 <= trade.slot < limit) or " " in trade.signature:
            raise ValueError(f"trade {trade.signature!r}: timestamp, slot or signature cannot be ordered")
        self._trades += 1
        self._by_side[trade.side] += 1
        self._fees_sol += trade.fee_sol
        if trade.value_usd is not None:
            self._priced += 1
            self._volume_usd += trade.value_usd
        if self._first is None or trade.timestamp < self._first:
            self._first = trade.timestamp
        if self._last is None or trade.timestamp > self._last:
            self._last = trade.timestamp
        for mint, symbol in ((trade.token_in_mint, trade.token_in), (trade.token_out_mint, trade.token_out)):
            if symbol and mint not in QUOTE_MINTS:
                self._symbols.setdefault(mint, symbol)
        if trade.token_in_mint in QUOTE_MINTS and trade.token_out_mint in QUOTE_MINTS:
            return
        self._records.append(
            " ".join(
                (
                    f"{trade.timestamp:0{_KEY_DIGITS}d}{trade.slot:0{_KEY_DIGITS}d}{trade.signature}",
                    str(self._mints.setdefault(trade.token_in_mint, len(self._mints))),
                    str(self._mints.setdefault(trade.token_out_mint, len(self._mints))),
                    str(trade.amount_in),
                    str(trade.amount_out),
                    str(trade.fee_sol),
                    _NONE if trade.value_usd is None else str(trade.value_usd),
                    _NONE if trade.sol_price_usd is None else str(trade.sol_price_usd),
                )
            )
        )
        if len(self._records) >= RUN_RECORDS:
            self._spill()

    def close(self) -> None:
        """Delete the temporary files of a big history (the summary cannot be booked again)."""
        for run in self._runs:
            run.close()
        self._runs = []

    def _spill(self) -> None:
        """Write the records in memory, sorted, to a temporary file of their own."""
        self._records.sort()
        run = tempfile.TemporaryFile("w+", encoding="ascii")
        run.writelines(record + "\n" for record in self._records)
        self._runs.append(run)
        self._records = []

    def _sorted_records(self) -> Iterator[str]:
        """Every record, in (timestamp, slot, signature) order: the ones in memory
        sorted, merged with the runs on disk."""
        # A space sorts below every base58 character, so a record's order is
        # that of its (timestamp, slot, signature) prefix.
        self._records.sort()
        if not self._runs:
            return iter(self._records)
        for run in self._runs:
            run.seek(0)
        return heapq.merge(self._records, *((line.rstrip("\n") for line in run) for run in self._runs))

    def book(self) -> PositionBook:
        """A fresh position book with every trade added so far booked oldest first."""
        mints = list(self._mints)
        book = PositionBook(self._method)
        for record in self._sorted_records():
            key, mint_in, mint_out, amount_in, amount_out, fee_sol, value_usd, price = record.split(" ")
            book.apply(
                BookEntry(
                    int(key[:_KEY_DIGITS]),
                    mints[int(mint_in)],
                    mints[int(mint_out)],
                    Decimal(amount_in),
                    Decimal(amount_out),
                    Decimal(fee_sol),
                    None if value_usd == _NONE else Decimal(value_usd),
                    None if price == _NONE else Decimal(price),
                )
            )
        return book

    def to_summary(self, symbols: Mapping[str, str | None] | None = None, book: PositionBook | None = None) -> dict[str, Any]:
        """The summary dict described on the class.

        Args:
            symbols: token symbols by mint, for mints whose trades carried
                none (a stream names tokens after extracting the trades).
            book: what :meth:`book` gave, when it was booked already (a stream
                books while its last symbols are looked up); booked here if ``None``.
        """
        if book is None:
            book = self.book()
        known = dict(symbols or {})
        positions = sorted(book.positions.values(), key=_rank)
        tokens = [_token(p, self._symbols.get(p.mint) or known.get(p.mint)) for p in positions]
        return {
            "trades_found": self._trades,
            "priced_trades": self._priced,
            "total_volume_usd": decimal_text(self._volume_usd),
            "total_fees_sol": decimal_text(self._fees_sol),
            "realized_pnl_usd": _pnl(book.realized_pnl_usd, book.sales_with_pnl_usd, book.sales),
            "realized_pnl_sol": _pnl(book.realized_pnl_sol, book.sales_with_pnl_sol, book.sales),
            "sales": book.sales,
            "sales_with_pnl_usd": book.sales_with_pnl_usd,
            "sales_with_pnl_sol": book.sales_with_pnl_sol,
            "win_rate": _ratio(Decimal(book.winning_sales), Decimal(book.judged_sales)),
            "token_win_rate": _token_win_rate(book.positions.values()),
            "buys": self._by_side[Side.BUY],
            "sells": self._by_side[Side.SELL],
            "swaps": self._by_side[Side.SWAP],
            "tokens_traded": len(tokens),
            "first_trade_at": self._first,
            "last_trade_at": self._last,
            "cost_basis_method": self._method.value,
            "tokens": tokens,
        }


def _token(position: Position, symbol: str | None) -> dict[str, Any]:
    """One entry of ``tokens`` (keys described on :class:`WalletSummary`)."""
    open_sol, open_usd = position.open_cost_basis_sol, position.open_cost_basis_usd
    return {
        "mint": position.mint,
        "symbol": symbol,
        "buys": position.buys,
        "sells": position.sells,
        "volume_usd": decimal_text(position.volume_usd),
        "realized_pnl_usd": _pnl(position.realized_pnl_usd, position.sales_with_pnl_usd, position.sells),
        "realized_pnl_sol": _pnl(position.realized_pnl_sol, position.sales_with_pnl_sol, position.sells),
        "roi": _ratio(position.realized_pnl_usd, position.sold_cost_usd),
        "roi_sol": _ratio(position.realized_pnl_sol, position.sold_cost_sol),
        "first_trade_at": position.first_trade_at,
        "last_trade_at": position.last_trade_at,
        "first_buy_at": position.first_buy_at,
        "last_sell_at": position.last_sell_at,
        "holding_time_s": position.holding_time_s,
        "open_amount": decimal_text(position.open_amount),
        "open_cost_basis_usd": None if open_usd is None else decimal_text(open_usd),
        "open_cost_basis_sol": None if open_sol is None else decimal_text(open_sol),
        "unmatched_sell_amount": decimal_text(position.unmatched_amount),
    }


def _rank(position: Position) -> tuple[bool, Decimal, bool, Decimal, str]:
    """Realized USD P&L descending (unknown last), then SOL likewise, then mint."""
    usd_known = not position.sells or position.sales_with_pnl_usd > 0
    sol_known = not position.sells or position.sales_with_pnl_sol > 0
    return (
        not usd_known,
        -position.realized_pnl_usd if usd_known else Decimal(0),
        not sol_known,
        -position.realized_pnl_sol if sol_known else Decimal(0),
        position.mint,
    )


def _pnl(total: Decimal, known: int, sales: int) -> str | None:
    """``total`` as text, or ``None`` when there were sales and none had a known P&L."""
    return None if sales and not known else decimal_text(total)


def _ratio(numerator: Decimal, denominator: Decimal) -> str | None:
    return decimal_text(numerator / denominator) if denominator else None


def _token_win_rate(positions: Iterable[Position]) -> str | None:
    wins = judged = 0
    for position in positions:
        if not position.sells:
            continue
        if position.sales_with_pnl_usd == position.sells:
            total = position.realized_pnl_usd
        elif position.sales_with_pnl_sol == position.sells:
            total = position.realized_pnl_sol
        else:
            continue
        judged += 1
        if total > 0:
            wins += 1
    return _ratio(Decimal(wins), Decimal(judged))
