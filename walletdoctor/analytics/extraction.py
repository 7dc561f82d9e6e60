"""Trade extraction: one Helius enhanced transaction, seen from the wallet, as a trade.

The rules, in the order they apply (DESIGN section 3, FACTS 1.5 and 2.1; the
amounts cited are from the recorded wallet ``3JoVBiQE...`` in
``shared/data``, checked against its third-party activity export):

1. A failed transaction (``transactionError`` set) is no trade, nor is one
   Helius types as a liquidity or staking operation (:data:`NON_TRADE_TYPES`).
   Every other type is judged on its transfers: Helius types many real
   PUMP_AMM / METEORA swaps as something else (``data/README.md``).
2. The wallet's legs are read from ``tokenTransfers`` and ``nativeTransfers``
   (:mod:`walletdoctor.analytics.legs`): SOL and wSOL are one asset,
   transfers between the wallet and its own token accounts (wSOL wrap,
   unwrap and close, rent for its own token accounts) are internal, and
   unscaled wSOL amounts are corrected.
3. *Counterparties* are the accounts that sent the wallet something. An
   outflow to a counterparty is a swap leg; any other outflow is a side leg:
   tips and platform fees (Photon's 1 % native transfer to ``AVUCZy...``,
   0.000778498 SOL on 0.077849895 in ``5g5rkbqii8...``), protocol and
   creator fee legs (PUMP_AMM buy ``5k9gGESAP5...``: 1.97802592 wSOL to the
   pool ``FYkuC1...``, which sent the token, plus 2 x 0.000987039 to fee
   accounts; the export reports the pool leg, 1.978026).
4. Per asset, inflows minus swap outflows give the net: negative is given,
   positive is got, zero (or under :data:`HOP_DUST` of the flow) is an
   intermediate hop. That nets multi-hop routes to what the wallet gave and
   got: in ``5g5rkbqii8...`` the wallet sends 1,986,656.546333 lub to one
   pool, gets 11.493485 USDC, sends that USDC to another pool and gets
   0.077849895 SOL, so the trade is lub -> SOL as in the export.
5. When nothing is given that way, no outflow went to a counterparty: the
   pool's vaults have different owners. Then every token-program outflow is
   a swap leg (METEORA ``5bmMy2...``: 0.0693 + 34.5807 wSOL to two vaults,
   the token from a third; the export reports their sum, 34.65; the sell
   ``2oywWG3d...`` likewise sums 1113.14 + 555457.16 tokens). Native side
   legs stay fees: tips are always system transfers.
6. When only one side is seen and ``accountData`` shows SOL the legs do
   not explain (a program crediting lamports directly, as bonding curves
   do, leaves no ``nativeTransfers`` item), that SOL is the missing side.
7. A trade needs exactly one asset given and one got; anything else (a
   transfer, an airdrop, dust, a liquidity deposit of two assets) is none.
8. ``events.swap`` fills in what the transfers leave out (a reduced payload,
   a missing leg), read for the wallet only
   (:mod:`walletdoctor.analytics.swap_event`). It is reconciled with the
   transfers: a side the transfers show keeps its mint and amount, and an
   event that names another mint for it is discarded. The transfers win
   because the event describes Helius' idea of *the* swap, which can be
   a middle hop: for ``5g5rkbqii8...`` it says USDC -> SOL.
9. ``fee_sol`` is the network ``fee`` (lamports -> SOL) when the wallet is
   the ``feePayer``, plus the SOL side legs. Side legs in other tokens are
   neither in the amounts nor in ``fee_sol``.
10. Amounts are Decimals: UI floats through their shortest ``repr``, raw
    strings scaled by their decimals; a net token amount that matches the
    wallet's exact ``rawTokenAmount`` change within float precision takes
    that exact value.

Malformed input never raises: items of the wrong shape are skipped (a list
given as one object is read as a one-item list), and a transaction left
without a signature or a trade yields ``None``; so the answer is a
best-effort trade from what is well-formed, or ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from walletdoctor.analytics.legs import WalletFlows, wallet_flows
from walletdoctor.analytics.swap_event import EventSwap, read_swap_event
from walletdoctor.analytics.trade import Trade
from walletdoctor.solana import NATIVE_SOL_MINT, SOL_DECIMALS, WELL_KNOWN_SYMBOLS

__all__ = ["HOP_DUST", "NON_TRADE_TYPES", "extract_trade"]

#: Helius ``type`` values that move assets without trading them (Helius SDK
#: ``TransactionType``; the export files such transactions as ``lp``).
NON_TRADE_TYPES = frozenset(
    {
        "ADD_LIQUIDITY",
        "WITHDRAW_LIQUIDITY",
        "ADD_TO_POOL",
        "REMOVE_FROM_POOL",
        "CREATE_POOL",
        "CLOSE_POSITION",
        "STAKE_SOL",
        "UNSTAKE_SOL",
        "STAKE_TOKEN",
        "UNSTAKE_TOKEN",
    }
)

#: An asset that flows both in and out and nets to at most this share of
#: its flow is an intermediate hop: routers may leave a raw unit or two behind.
HOP_DUST = Decimal("0.001")

#: SOL below this, unexplained by the legs, is rounding, not a missing leg.
_UNEXPLAINED_SOL_MIN = Decimal("0.000001")
#: A net amount within this relative distance of the exact raw balance
#: change is the same number seen through a float (17 significant digits).
_FLOAT_PRECISION = Decimal("1e-15")
_ZERO = Decimal(0)


def extract_trade(transaction: Mapping[str, Any], wallet: str) -> Trade | None:
    """The trade ``wallet`` made in one Helius enhanced transaction, or ``None``.

    Args:
        transaction: an ``EnhancedTransaction`` as parsed JSON (FACTS 1.5):
            full, or reduced to some of its fields; ``slot`` and
            ``timestamp`` default to 0, ``source`` to ``"UNKNOWN"``.
        wallet: the wallet's base58 address; the trade is its point of view.

    Returns:
        A :class:`Trade` with UI amounts (SOL for SOL, native SOL reported as
        the wrapped-SOL mint) and ``fee_sol`` in SOL; ``None`` for a failed
        transaction, a non-swap, or input too malformed to read. The rules
        and their sources are in the module docstring.

    Never raises.
    """
    if not isinstance(transaction, Mapping) or not isinstance(wallet, str) or not wallet:
        return None
    try:
        return _extract(transaction, wallet)
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):
        # The helpers check every shape they read; this keeps the promise
        # for shapes nobody foresaw (a Mapping subclass that misbehaves).
        return None


def _extract(transaction: Mapping[str, Any], wallet: str) -> Trade | None:
    if transaction.get("transactionError"):
        return None
    kind = transaction.get("type")
    if isinstance(kind, str) and kind in NON_TRADE_TYPES:
        return None
    signature = transaction.get("signature")
    if not isinstance(signature, str) or not signature:
        return None

    network_fee = _whole(transaction.get("fee")) if transaction.get("feePayer") == wallet else 0
    flows = wallet_flows(transaction, wallet, network_fee)
    given, got, side_sol = _settle(flows)
    pair = _pair(given, got)
    if pair is None:
        pair = _reconcile(given, got, read_swap_event(transaction, wallet, flows.own_accounts))
        if pair is None:
            return None
    mint_in, amount_in, mint_out, amount_out = pair
    source = transaction.get("source")
    return Trade(
        signature=signature,
        slot=_whole(transaction.get("slot")),
        timestamp=_whole(transaction.get("timestamp")),
        source=source if isinstance(source, str) and source else "UNKNOWN",
        token_in_mint=mint_in,
        token_out_mint=mint_out,
        amount_in=_exact(amount_in, -flows.own_token_changes.get(mint_in, _ZERO), mint_in),
        amount_out=_exact(amount_out, flows.own_token_changes.get(mint_out, _ZERO), mint_out),
        fee_sol=(Decimal(network_fee).scaleb(-SOL_DECIMALS) if network_fee else _ZERO) + side_sol,
        token_in=WELL_KNOWN_SYMBOLS.get(mint_in),
        token_out=WELL_KNOWN_SYMBOLS.get(mint_out),
    )


def _settle(flows: WalletFlows) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    """Rules 3 to 6: the assets net given and got, and the SOL side legs."""
    counterparties = {leg.counterparty for leg in flows.inflows if leg.counterparty}
    inflow: dict[str, Decimal] = {}
    for leg in flows.inflows:
        inflow[leg.mint] = inflow.get(leg.mint, _ZERO) + leg.amount
    swap_out: dict[str, Decimal] = {}
    side_token: dict[str, Decimal] = {}
    side_native = _ZERO
    for leg in flows.outflows:
        if leg.counterparty in counterparties:
            swap_out[leg.mint] = swap_out.get(leg.mint, _ZERO) + leg.amount
        elif leg.native:
            side_native += leg.amount
        else:
            side_token[leg.mint] = side_token.get(leg.mint, _ZERO) + leg.amount

    given, got = _net(inflow, swap_out)
    if not given and side_token:
        for mint, amount in side_token.items():
            swap_out[mint] = swap_out.get(mint, _ZERO) + amount
        side_token = {}
        given, got = _net(inflow, swap_out)

    unexplained = flows.unexplained_sol
    if unexplained is not None and NATIVE_SOL_MINT not in given and NATIVE_SOL_MINT not in got:
        if given and not got and unexplained >= _UNEXPLAINED_SOL_MIN:
            got[NATIVE_SOL_MINT] = unexplained
        elif got and not given and -unexplained >= _UNEXPLAINED_SOL_MIN:
            given[NATIVE_SOL_MINT] = -unexplained
    return given, got, side_native + side_token.get(NATIVE_SOL_MINT, _ZERO)


def _net(
    inflow: Mapping[str, Decimal], outflow: Mapping[str, Decimal]
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    given: dict[str, Decimal] = {}
    got: dict[str, Decimal] = {}
    for mint in inflow.keys() | outflow.keys():
        received, sent = inflow.get(mint, _ZERO), outflow.get(mint, _ZERO)
        net = received - sent
        if received and sent and abs(net) <= max(received, sent) * HOP_DUST:
            continue
        if net > 0:
            got[mint] = net
        elif net < 0:
            given[mint] = -net
    return given, got


def _pair(given: Mapping[str, Decimal], got: Mapping[str, Decimal]) -> EventSwap | None:
    if len(given) != 1 or len(got) != 1:
        return None
    ((mint_in, amount_in),) = given.items()
    ((mint_out, amount_out),) = got.items()
    return mint_in, amount_in, mint_out, amount_out


def _reconcile(given: Mapping[str, Decimal], got: Mapping[str, Decimal], event: EventSwap | None) -> EventSwap | None:
    """Rule 8: complete the transfers' sides with ``events.swap`` where they agree."""
    if event is None or len(given) > 1 or len(got) > 1:
        return None
    mint_in, amount_in, mint_out, amount_out = event
    if given:
        ((seen_mint, seen_amount),) = given.items()
        if seen_mint != mint_in:
            return None
        amount_in = seen_amount
    if got:
        ((seen_mint, seen_amount),) = got.items()
        if seen_mint != mint_out:
            return None
        amount_out = seen_amount
    return mint_in, amount_in, mint_out, amount_out


def _exact(amount: Decimal, exact: Decimal, mint: str) -> Decimal:
    """Rule 10: prefer the exact raw balance change when it is the same number."""
    if mint != NATIVE_SOL_MINT and exact > 0 and exact != amount and abs(exact - amount) <= amount * _FLOAT_PRECISION:
        return exact
    return amount


def _whole(value: Any) -> int:
    """A non-negative JSON integer (``slot``, ``timestamp``, ``fee``), else 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**63:
        return int(value)
    return 0
