"""Cost basis and realized P&L per token: a position book fed trades oldest first.

The rules (DESIGN section 3; FACTS 2.2 for the methods, 2.3 for the stats):

- Only tokens have positions. A leg in SOL or a USD stablecoin
  (:data:`~walletdoctor.solana.QUOTE_MINTS`) is money, not a position, so a
  SOL <-> stablecoin trade moves no position: it counts as a trade and its
  volume and fee count in the wallet totals, but it realizes no P&L.
- A trade that *gets* a token opens a lot of ``amount_out`` tokens costing
  the trade's value plus its fee. A trade that *gives* a token is a sale of
  ``amount_in`` tokens: proceeds are the trade's value, minus the fee when
  nothing was acquired. A token-to-token ``swap`` is both: a sale of
  ``token_in`` (proceeds = the trade's value) and a buy of ``token_out``
  (cost = the same value plus the fee), so its fee is counted once.
- Values are kept in SOL and in USD. In SOL: the SOL leg's amount when a leg
  is SOL, else ``value_usd / sol_price_usd``. In USD: ``value_usd``; the fee
  is ``fee_sol * sol_price_usd`` (zero when the fee is zero). Whatever
  cannot be known is ``None`` and so is everything computed from it: a sale
  has a USD or SOL P&L only when both its proceeds and its cost are known in
  that currency. This module never prices anything itself.
- FIFO (the default, as in sol-wallet-analyzer and the original
  WalletDoctor) consumes the oldest lots first, splitting a lot on a partial
  fill; AVERAGE (weighted average cost, the common vendor choice) keeps one
  pooled lot per token. Either way a sale's cost is its share of the lots
  it consumes, rounded to :data:`QUANTUM`, and the remainder stays with the
  lot, so the costs of the sales of a lot add up to its cost exactly.
- Tokens sold beyond the recorded buys (received by transfer or airdrop)
  have zero cost basis, as in the original WalletDoctor ("airdrop = zero
  basis"); the sale reports that part as ``unmatched_amount`` and no lot
  ever goes negative.

Arithmetic runs in a private 60-digit decimal context, so sums and
differences of UI amounts, values and the quantized cost shares are exact.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from typing import NamedTuple

from walletdoctor.analytics.trade import Trade
from walletdoctor.solana import NATIVE_SOL_MINT, QUOTE_MINTS

__all__ = ["QUANTUM", "BookEntry", "CostBasisMethod", "PnlTracker", "Position", "PositionBook", "Sale"]

#: Step to which computed quotients (USD -> SOL conversions, a partial lot's
#: cost share) are rounded: far below a lamport or a micro-dollar.
QUANTUM = Decimal("1e-18")

#: Wide enough that every sum and difference of book values is exact.
_BOOK_CONTEXT = Context(prec=60)
_ZERO = Decimal(0)


class CostBasisMethod(str, enum.Enum):
    """How a sale picks the cost of the tokens it sells (FACTS 2.2)."""

    FIFO = "fifo"
    """Oldest lots first; a partial fill splits a lot."""
    AVERAGE = "average"
    """Weighted average cost: every token held costs the same."""


class BookEntry(NamedTuple):
    """What the book needs of one trade: mints, UI amounts, value and fee.

    ``value_usd`` and ``sol_price_usd`` are ``None`` when unknown;
    ``timestamp`` is unix seconds.
    """

    timestamp: int
    mint_in: str
    mint_out: str
    amount_in: Decimal
    amount_out: Decimal
    fee_sol: Decimal
    value_usd: Decimal | None
    sol_price_usd: Decimal | None

    @classmethod
    def of(cls, trade: Trade) -> BookEntry:
        """The entry for ``trade``."""
        return cls(
            trade.timestamp,
            trade.token_in_mint,
            trade.token_out_mint,
            trade.amount_in,
            trade.amount_out,
            trade.fee_sol,
            trade.value_usd,
            trade.sol_price_usd,
        )

    def value_sol(self) -> Decimal | None:
        """The trade's value in SOL: its SOL leg, else its USD value at SOL's price."""
        if self.mint_in == NATIVE_SOL_MINT:
            return self.amount_in
        if self.mint_out == NATIVE_SOL_MINT:
            return self.amount_out
        price = self.sol_price_usd
        if self.value_usd is None or price is None or price <= 0:
            return None
        return (self.value_usd / price).quantize(QUANTUM)

    def fee_usd(self) -> Decimal | None:
        """``fee_sol`` in USD; zero without a price when there is no fee."""
        if not self.fee_sol:
            return _ZERO
        return None if self.sol_price_usd is None else self.fee_sol * self.sol_price_usd


@dataclass(frozen=True, slots=True)
class Sale:
    """The realized result of one sale of a token (a sell, or the sold leg of a swap).

    Amounts in UI units of the token; ``*_sol`` in SOL, ``*_usd`` in USD,
    ``None`` when unknown. ``amount = matched_amount + unmatched_amount``;
    the unmatched part had no recorded buy and costs zero.
    """

    mint: str
    amount: Decimal
    matched_amount: Decimal
    unmatched_amount: Decimal
    proceeds_sol: Decimal | None
    proceeds_usd: Decimal | None
    cost_basis_sol: Decimal | None
    cost_basis_usd: Decimal | None
    realized_pnl_sol: Decimal | None
    realized_pnl_usd: Decimal | None

    @property
    def outcome(self) -> Decimal | None:
        """The P&L that judges a win: in USD when known, else in SOL (FACTS 2.3)."""
        return self.realized_pnl_usd if self.realized_pnl_usd is not None else self.realized_pnl_sol


@dataclass(slots=True)
class _Lot:
    amount: Decimal
    cost_sol: Decimal | None
    cost_usd: Decimal | None


@dataclass(slots=True)
class Position:
    """One token's state in the book: open lots, realized totals and activity.

    ``buys`` / ``sells`` count the trades that got / gave the token, swap
    legs included; ``volume_usd`` sums their known ``value_usd``. Amounts in
    the token's UI units; ``realized_pnl_*`` sum the sales whose
    P&L is known in that currency (``sales_with_pnl_*`` count them), and
    ``sold_cost_*`` the cost basis of those same sales (the ROI's
    denominator). Times are unix seconds, ``None`` until such a trade.
    """

    mint: str
    buys: int = 0
    sells: int = 0
    bought_amount: Decimal = _ZERO
    sold_amount: Decimal = _ZERO
    unmatched_amount: Decimal = _ZERO
    volume_usd: Decimal = _ZERO
    realized_pnl_sol: Decimal = _ZERO
    realized_pnl_usd: Decimal = _ZERO
    sold_cost_sol: Decimal = _ZERO
    sold_cost_usd: Decimal = _ZERO
    sales_with_pnl_sol: int = 0
    sales_with_pnl_usd: int = 0
    first_trade_at: int | None = None
    last_trade_at: int | None = None
    first_buy_at: int | None = None
    last_sell_at: int | None = None
    lots: deque[_Lot] = field(default_factory=deque, repr=False)

    @property
    def open_amount(self) -> Decimal:
        """Tokens bought and not yet sold."""
        return _sum(lot.amount for lot in self.lots)

    @property
    def open_cost_basis_sol(self) -> Decimal | None:
        """Cost in SOL of the open amount; ``None`` if any open lot's is unknown."""
        return _total(lot.cost_sol for lot in self.lots)

    @property
    def open_cost_basis_usd(self) -> Decimal | None:
        """Cost in USD of the open amount; ``None`` if any open lot's is unknown."""
        return _total(lot.cost_usd for lot in self.lots)

    @property
    def holding_time_s(self) -> int | None:
        """First buy to last sell; to the last trade while tokens are still open.

        ``None`` without a recorded buy (only transferred-in tokens sold).
        """
        if self.first_buy_at is None or self.last_trade_at is None:
            return None
        end = self.last_trade_at if self.lots or self.last_sell_at is None else self.last_sell_at
        return max(end - self.first_buy_at, 0)


class PositionBook:
    """Every token's position, updated one trade at a time, oldest first.

    Args:
        method: FIFO (default) or AVERAGE cost basis.

    Feeding trades out of order is not detected; it gives the P&L of that
    order. Raises ``ValueError`` on a negative amount.
    """

    __slots__ = (
        "judged_sales",
        "method",
        "positions",
        "sales",
        "sales_with_pnl_sol",
        "sales_with_pnl_usd",
        "winning_sales",
    )

    def __init__(self, method: CostBasisMethod = CostBasisMethod.FIFO) -> None:
        self.method = CostBasisMethod(method)
        #: Positions by mint, in the order the tokens were first traded.
        self.positions: dict[str, Position] = {}
        self.sales = 0
        self.sales_with_pnl_sol = 0
        self.sales_with_pnl_usd = 0
        #: Sales whose :attr:`Sale.outcome` is known, and those where it is positive.
        self.judged_sales = 0
        self.winning_sales = 0

    def apply(self, entry: BookEntry) -> Sale | None:
        """Book one trade; the sale it makes of ``mint_in``, or ``None`` if it sells no token."""
        if entry.amount_in < 0 or entry.amount_out < 0:
            raise ValueError("trade amounts are UI amounts given and got, never negative")
        with localcontext(_BOOK_CONTEXT):
            value_sol, value_usd = entry.value_sol(), entry.value_usd
            fee_sol, fee_usd = entry.fee_sol, entry.fee_usd()
            acquires = entry.mint_out not in QUOTE_MINTS
            sale = None
            if entry.mint_in not in QUOTE_MINTS:
                # The fee goes to the lot the trade opens, or else to the sale.
                proceeds_sol = value_sol if acquires else _minus(value_sol, fee_sol)
                proceeds_usd = value_usd if acquires else _minus(value_usd, fee_usd)
                sale = self._sell(entry, proceeds_sol, proceeds_usd)
            if acquires:
                self._buy(entry, _plus(value_sol, fee_sol), _plus(value_usd, fee_usd))
        return sale

    @property
    def realized_pnl_sol(self) -> Decimal:
        """Sum over all tokens of the realized P&L known in SOL."""
        return _sum(p.realized_pnl_sol for p in self.positions.values())

    @property
    def realized_pnl_usd(self) -> Decimal:
        """Sum over all tokens of the realized P&L known in USD."""
        return _sum(p.realized_pnl_usd for p in self.positions.values())

    def _position(self, mint: str, entry: BookEntry) -> Position:
        position = self.positions.get(mint)
        if position is None:
            position = self.positions[mint] = Position(mint, first_trade_at=entry.timestamp)
        position.last_trade_at = entry.timestamp
        if entry.value_usd is not None:
            position.volume_usd += entry.value_usd
        return position

    def _buy(self, entry: BookEntry, cost_sol: Decimal | None, cost_usd: Decimal | None) -> None:
        position = self._position(entry.mint_out, entry)
        position.buys += 1
        position.bought_amount += entry.amount_out
        if position.first_buy_at is None:
            position.first_buy_at = entry.timestamp
        if not entry.amount_out:
            return  # nothing to hold, so no lot to carry a cost
        lots = position.lots
        if self.method is CostBasisMethod.AVERAGE and lots:
            pooled = lots[0]
            pooled.amount += entry.amount_out
            pooled.cost_sol = _plus(pooled.cost_sol, cost_sol)
            pooled.cost_usd = _plus(pooled.cost_usd, cost_usd)
        else:
            lots.append(_Lot(entry.amount_out, cost_sol, cost_usd))

    def _sell(self, entry: BookEntry, proceeds_sol: Decimal | None, proceeds_usd: Decimal | None) -> Sale:
        position = self._position(entry.mint_in, entry)
        position.sells += 1
        position.sold_amount += entry.amount_in
        position.last_sell_at = entry.timestamp
        lots = position.lots
        remaining = entry.amount_in
        cost_sol: Decimal | None = _ZERO
        cost_usd: Decimal | None = _ZERO
        while remaining and lots:
            lot = lots[0]
            if lot.amount <= remaining:
                taken, part_sol, part_usd = lot.amount, lot.cost_sol, lot.cost_usd
                lots.popleft()
            else:
                taken = remaining
                part_sol, part_usd = _share(lot.cost_sol, taken, lot.amount), _share(lot.cost_usd, taken, lot.amount)
                lot.amount -= taken
                lot.cost_sol = _minus(lot.cost_sol, part_sol)
                lot.cost_usd = _minus(lot.cost_usd, part_usd)
            remaining -= taken
            cost_sol, cost_usd = _plus(cost_sol, part_sol), _plus(cost_usd, part_usd)
        position.unmatched_amount += remaining
        sale = Sale(
            mint=entry.mint_in,
            amount=entry.amount_in,
            matched_amount=entry.amount_in - remaining,
            unmatched_amount=remaining,
            proceeds_sol=proceeds_sol,
            proceeds_usd=proceeds_usd,
            cost_basis_sol=cost_sol,
            cost_basis_usd=cost_usd,
            realized_pnl_sol=_minus(proceeds_sol, cost_sol),
            realized_pnl_usd=_minus(proceeds_usd, cost_usd),
        )
        self._count(position, sale)
        return sale

    def _count(self, position: Position, sale: Sale) -> None:
        self.sales += 1
        if sale.realized_pnl_sol is not None and sale.cost_basis_sol is not None:
            position.realized_pnl_sol += sale.realized_pnl_sol
            position.sold_cost_sol += sale.cost_basis_sol
            position.sales_with_pnl_sol += 1
            self.sales_with_pnl_sol += 1
        if sale.realized_pnl_usd is not None and sale.cost_basis_usd is not None:
            position.realized_pnl_usd += sale.realized_pnl_usd
            position.sold_cost_usd += sale.cost_basis_usd
            position.sales_with_pnl_usd += 1
            self.sales_with_pnl_usd += 1
        outcome = sale.outcome
        if outcome is not None:
            self.judged_sales += 1
            if outcome > 0:
                self.winning_sales += 1


class PnlTracker:
    """Realized P&L on each trade of a stream that runs oldest first.

    Args:
        method: FIFO (default) or AVERAGE cost basis.

    :meth:`apply` books the trade and returns it with ``pnl_sol`` /
    ``pnl_usd`` set when it sells a token (``None`` where unknown). Fed the
    same trades in ascending (timestamp, slot, signature) order, its
    :attr:`book` ends with the same totals as
    :class:`~walletdoctor.analytics.summary.WalletSummary`.
    """

    __slots__ = ("book",)

    def __init__(self, method: CostBasisMethod = CostBasisMethod.FIFO) -> None:
        self.book = PositionBook(method)

    def apply(self, trade: Trade) -> Trade:
        """Book ``trade``; return it with its realized P&L if it sells a token, else unchanged."""
        sale = self.book.apply(BookEntry.of(trade))
        if sale is None:
            return trade
        return dataclasses.replace(trade, pnl_sol=sale.realized_pnl_sol, pnl_usd=sale.realized_pnl_usd)


def _plus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a + b


def _minus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a - b


def _share(cost: Decimal | None, taken: Decimal, amount: Decimal) -> Decimal | None:
    return None if cost is None else (cost * taken / amount).quantize(QUANTUM)


def _sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext(_BOOK_CONTEXT):
        return sum(values, _ZERO)


def _total(values: Iterable[Decimal | None]) -> Decimal | None:
    known = list(values)
    return None if None in known else _sum(v for v in known if v is not None)
