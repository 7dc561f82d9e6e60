"""Helius' ``events.swap`` read from the wallet's own point of view.

``events.swap`` (OpenAPI ``SwapEvent``, FACTS 1.5) carries ``nativeInput`` /
``nativeOutput`` (``{account, amount}``, amount a string of lamports) and
``tokenInputs`` / ``tokenOutputs`` (``rawTokenAmount`` raw strings with
``decimals``). It describes what Helius' parser took for *the* swap, which is
not always the wallet's trade: in the recorded page, signature
``5g5rkbqii8...`` carries an event "USDC -> SOL" while the wallet sold lub
(the USDC was a Photon route's middle hop), and ``4EeVbfsn...`` names the
Raydium pool authority, not the wallet, as the owner of the token output.
So only entries attributed to the wallet's own accounts are read here, and
the caller reconciles the result with the wallet's transfers
(:mod:`walletdoctor.analytics.extraction`).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from decimal import Decimal
from typing import Any

from walletdoctor.analytics.legs import as_items, raw_amount
from walletdoctor.solana import NATIVE_SOL_MINT, SOL_DECIMALS

__all__ = ["EventSwap", "read_swap_event"]

#: ``(given mint, given UI amount, got mint, got UI amount)``.
EventSwap = tuple[str, Decimal, str, Decimal]


def read_swap_event(transaction: Mapping[str, Any], wallet: str, own: Container[str]) -> EventSwap | None:
    """The trade ``events.swap`` describes for ``wallet``, or ``None``.

    ``own`` holds the wallet's own token accounts (the wallet included). An
    input or output counts when its ``account`` / ``userAccount`` is the
    wallet or its ``tokenAccount`` is one of ``own``. Amounts of one mint
    are netted (native SOL and wSOL are one asset); the result is a trade
    only when exactly one asset is net given and exactly one net got.
    Never raises on malformed input.
    """
    events = transaction.get("events")
    swap = events.get("swap") if isinstance(events, Mapping) else None
    if not isinstance(swap, Mapping):
        return None
    net: dict[str, Decimal] = {}
    for key, sign in (("nativeInput", -1), ("nativeOutput", 1)):
        native = swap.get(key)
        if isinstance(native, Mapping) and native.get("account") == wallet:
            lamports = raw_amount({"tokenAmount": native.get("amount"), "decimals": SOL_DECIMALS})
            if lamports is not None and lamports > 0:
                net[NATIVE_SOL_MINT] = net.get(NATIVE_SOL_MINT, Decimal(0)) + sign * lamports
    for key, sign in (("tokenInputs", -1), ("tokenOutputs", 1)):
        for item in as_items(swap.get(key)):
            account = item.get("tokenAccount")
            if item.get("userAccount") != wallet and not (isinstance(account, str) and account in own):
                continue
            mint, amount = item.get("mint"), raw_amount(item.get("rawTokenAmount"))
            if isinstance(mint, str) and mint and amount is not None and amount > 0:
                net[mint] = net.get(mint, Decimal(0)) + sign * amount
    given = [(mint, -amount) for mint, amount in net.items() if amount < 0]
    got = [(mint, amount) for mint, amount in net.items() if amount > 0]
    if len(given) != 1 or len(got) != 1:
        return None
    return given[0][0], given[0][1], got[0][0], got[0][1]
