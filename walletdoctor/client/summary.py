"""The ``complete`` event's summary, typed: wallet totals, realized P&L and per-token stats.

The fields are those of :class:`walletdoctor.analytics.summary.WalletSummary`
(DESIGN section 3). Every field but ``trades_found`` may be absent from the
data (an older or newer server): it is then ``None``. Keys this client does
not know are kept in ``extra`` as received, so nothing the server sent is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from walletdoctor.client.fields import (
    json_ready,
    read_int,
    read_optional_decimal,
    read_optional_int,
    read_optional_str,
    read_str,
)

__all__ = ["Summary", "TokenStats"]


@dataclass(frozen=True, slots=True)
class TokenStats:
    """One token's trading stats (amounts in UI units, P&L in USD or SOL, times in unix seconds).

    ``roi`` / ``roi_sol`` are ratios (0.5 = +50 %); ``holding_time_s`` is
    seconds from the first buy to the last sale (or the last trade while open).
    """

    mint: str
    symbol: str | None = None
    buys: int | None = None
    sells: int | None = None
    volume_usd: Decimal | None = None
    realized_pnl_usd: Decimal | None = None
    realized_pnl_sol: Decimal | None = None
    roi: Decimal | None = None
    roi_sol: Decimal | None = None
    first_trade_at: int | None = None
    last_trade_at: int | None = None
    first_buy_at: int | None = None
    last_sell_at: int | None = None
    holding_time_s: int | None = None
    open_amount: Decimal | None = None
    open_cost_basis_usd: Decimal | None = None
    open_cost_basis_sol: Decimal | None = None
    unmatched_sell_amount: Decimal | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenStats:
        """Read one entry of the summary's ``tokens``.

        Raises:
            KeyError, TypeError, ValueError: ``mint`` missing, or a field of the wrong type.
        """
        values, _ = _read_known(cls, data, {"mint"})
        return cls(mint=read_str(data, "mint"), **values)


@dataclass(frozen=True, slots=True)
class Summary:
    """The wallet's totals (see :class:`walletdoctor.analytics.summary.WalletSummary` for each rule).

    ``win_rate`` / ``token_win_rate`` are ratios in 0..1; ``tokens`` is
    ordered by realized USD P&L, best first; ``extra`` holds the keys this
    client does not know, as received.
    """

    trades_found: int
    buys: int | None = None
    sells: int | None = None
    swaps: int | None = None
    priced_trades: int | None = None
    total_volume_usd: Decimal | None = None
    total_fees_sol: Decimal | None = None
    realized_pnl_usd: Decimal | None = None
    realized_pnl_sol: Decimal | None = None
    sales: int | None = None
    sales_with_pnl_usd: int | None = None
    sales_with_pnl_sol: int | None = None
    win_rate: Decimal | None = None
    token_win_rate: Decimal | None = None
    tokens_traded: int | None = None
    first_trade_at: int | None = None
    last_trade_at: int | None = None
    cost_basis_method: str | None = None
    transactions_scanned: int | None = None
    transactions_missing: int | None = None
    tokens: tuple[TokenStats, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        """Read the ``summary`` object of a ``complete`` event.

        Raises:
            KeyError, TypeError, ValueError: ``trades_found`` missing, or a field of the wrong type.
        """
        values, extra = _read_known(cls, data, {"trades_found", "tokens", "extra"})
        tokens = data.get("tokens")
        if tokens is None:
            tokens = []
        if not isinstance(tokens, list):
            raise TypeError("tokens: expected a list")
        return cls(
            trades_found=read_int(data, "trades_found"),
            tokens=tuple(TokenStats.from_json(entry) for entry in tokens),
            extra=extra,
            **values,
        )

    def to_json(self) -> dict[str, Any]:
        """The summary object again: every typed field (``null`` when it was absent), decimals
        as plain strings, and the ``extra`` keys back in place."""
        document: dict[str, Any] = json_ready(self)
        document.update(document.pop("extra"))
        return document


_READERS = {
    "int | None": read_optional_int,
    "Decimal | None": read_optional_decimal,
    "str | None": read_optional_str,
}


def _read_known(
    cls: type[Any], data: Mapping[str, Any], skip: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The optional fields of dataclass ``cls`` read from ``data`` by their annotation,
    and the keys of ``data`` that ``cls`` does not declare."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: expected an object")
    declared = {f.name: f.type for f in fields(cls)}
    values = {name: _READERS[str(kind)](data, name) for name, kind in declared.items() if name not in skip}
    extra = {key: value for key, value in data.items() if key not in declared}
    return values, extra
