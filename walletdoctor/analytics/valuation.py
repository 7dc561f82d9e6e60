"""Valuation: each trade's USD value and SOL's USD price at its time.

For a trade at time ``t`` (DESIGN section 3, "in USD where priced"):

- ``sol_price_usd`` is SOL's price at ``t`` (the wrapped-SOL mint, as
  Birdeye names SOL);
- ``value_usd`` comes from the first rule that applies:

  1. a USD stablecoin leg (USDC, USDT) is its own value, 1 USD per token;
  2. a SOL leg is worth its SOL amount times ``sol_price_usd``: the token
     on the other side is priced through SOL at the trade's own rate
     (its USD price is ``trade.price * sol_price_usd``), so a memecoin
     nobody else prices is still valued;
  3. otherwise (token to token), ``amount_in`` times the historical price of
     ``token_in``, else ``amount_out`` times that of ``token_out``;
  4. when the rule that applies finds no price, the other legs are tried;
     ``value_usd`` stays ``None`` only when nothing can price the trade.

All look-ups of one call run concurrently, so valuing a batch costs one
round trip to the price source (plus one more, only for trades the first
left unpriced). Arithmetic is exact Decimal; nothing is rounded here (the
wire encoder keeps 18 significant digits).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from decimal import Decimal

from walletdoctor.analytics.prices import PriceSource
from walletdoctor.analytics.trade import Trade
from walletdoctor.solana import NATIVE_SOL_MINT, USD_STABLECOIN_MINTS

__all__ = ["value_trades"]

_Lookup = tuple[str, int]


async def value_trades(trades: Sequence[Trade], prices: PriceSource) -> list[Trade]:
    """The trades, in the same order, with ``sol_price_usd`` and ``value_usd`` set.

    Args:
        trades: trades with UI amounts and ``timestamp`` in unix seconds.
        prices: USD per UI token by mint and time; ``None`` when unknown.

    Returns:
        New :class:`Trade` objects (trades are frozen); a field stays
        ``None`` when no price could be found for it. Raises only what
        ``prices`` raises (its contract is to raise nothing).
    """
    wanted: set[_Lookup] = set()
    for trade in trades:
        wanted.add((NATIVE_SOL_MINT, trade.timestamp))
        if not _has_quote_leg(trade):
            wanted.update(_token_lookups(trade))
    known = await _look_up(prices, wanted)

    # Trades with a SOL leg but no SOL price fall back on their token legs;
    # asked only now, since in the usual case SOL's price is known.
    fallback = {
        lookup
        for trade in trades
        if _value(trade, known) is None
        for lookup in _token_lookups(trade)
        if lookup not in known
    }
    if fallback:
        known.update(await _look_up(prices, fallback))

    return [
        dataclasses.replace(
            trade, sol_price_usd=known.get((NATIVE_SOL_MINT, trade.timestamp)), value_usd=_value(trade, known)
        )
        for trade in trades
    ]


async def _look_up(prices: PriceSource, lookups: Iterable[_Lookup]) -> dict[_Lookup, Decimal | None]:
    ordered = list(lookups)
    found = await asyncio.gather(*(prices.price_usd(mint, when) for mint, when in ordered))
    return dict(zip(ordered, found, strict=True))


def _has_quote_leg(trade: Trade) -> bool:
    legs = (trade.token_in_mint, trade.token_out_mint)
    return NATIVE_SOL_MINT in legs or any(mint in USD_STABLECOIN_MINTS for mint in legs)


def _token_lookups(trade: Trade) -> list[_Lookup]:
    """Price look-ups of the legs that are neither SOL nor a stablecoin."""
    return [
        (mint, trade.timestamp)
        for mint in (trade.token_in_mint, trade.token_out_mint)
        if mint != NATIVE_SOL_MINT and mint not in USD_STABLECOIN_MINTS
    ]


def _value(trade: Trade, known: dict[_Lookup, Decimal | None]) -> Decimal | None:
    legs = ((trade.token_in_mint, trade.amount_in), (trade.token_out_mint, trade.amount_out))
    for mint, amount in legs:
        if mint in USD_STABLECOIN_MINTS:
            return amount
    for mint, amount in legs:
        if mint == NATIVE_SOL_MINT:
            sol_price = known.get((NATIVE_SOL_MINT, trade.timestamp))
            if sol_price is not None:
                return amount * sol_price
    for mint, amount in legs:
        price = known.get((mint, trade.timestamp))
        if price is not None and mint != NATIVE_SOL_MINT:
            return amount * price
    return None
