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
left unpriced); :func:`value_cached` values a batch whose prices the source
already holds without awaiting at all. Arithmetic is exact Decimal; nothing
is rounded here (the wire encoder keeps 18 significant digits).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from decimal import Decimal

from walletdoctor.analytics.prices import UNCACHED, CachingSource, PriceSource
from walletdoctor.analytics.trade import Trade
from walletdoctor.solana import NATIVE_SOL_MINT, USD_STABLECOIN_MINTS

__all__ = ["token_prices_asked", "value_cached", "value_trades"]

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
    known = await _look_up(prices, _wanted(trades))
    # Trades with a SOL leg but no SOL price fall back on their token legs;
    # asked only now, since in the usual case SOL's price is known.
    fallback = _fallback(trades, known)
    if fallback:
        known.update(await _look_up(prices, fallback))
    return _valued(trades, known)


def value_cached(trades: Sequence[Trade], prices: PriceSource) -> list[Trade] | None:
    """What :func:`value_trades` returns, if ``prices`` holds every price it needs
    (:class:`~walletdoctor.analytics.prices.CachingSource`); ``None`` if one would
    take a fetch, or ``prices`` cannot answer without awaiting. Never awaits, never raises."""
    if not isinstance(prices, CachingSource):
        return None
    known: dict[_Lookup, Decimal | None] = {}
    if _cached(prices, _wanted(trades), known) and _cached(prices, _fallback(trades, known), known):
        return _valued(trades, known)
    return None


def _cached(prices: CachingSource, lookups: Iterable[_Lookup], known: dict[_Lookup, Decimal | None]) -> bool:
    """Add the held prices of ``lookups`` to ``known``; ``False`` at the first that is not held."""
    for mint, when in lookups:
        price = prices.cached_price_usd(mint, when)
        if price is UNCACHED:
            return False
        known[mint, when] = price
    return True


def token_prices_asked(trade: Trade) -> list[_Lookup]:
    """The ``(mint, unix s)`` token prices :func:`value_trades` asks for ``trade``
    besides SOL's: its legs' when it has neither a SOL nor a stablecoin leg (rule 3), else none."""
    return [] if _has_quote_leg(trade) else _token_lookups(trade)


def _wanted(trades: Sequence[Trade]) -> set[_Lookup]:
    wanted: set[_Lookup] = set()
    for trade in trades:
        wanted.add((NATIVE_SOL_MINT, trade.timestamp))
        wanted.update(token_prices_asked(trade))
    return wanted


def _fallback(trades: Sequence[Trade], known: dict[_Lookup, Decimal | None]) -> set[_Lookup]:
    return {
        lookup
        for trade in trades
        if _value(trade, known) is None
        for lookup in _token_lookups(trade)
        if lookup not in known
    }


def _valued(trades: Sequence[Trade], known: dict[_Lookup, Decimal | None]) -> list[Trade]:
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
