"""The wallet's side of one Helius enhanced transaction: its asset legs.

A *leg* is one movement of an asset between the wallet's own accounts and
somebody else's, read from ``tokenTransfers`` (SPL token program) and
``nativeTransfers`` (system program). The wallet's own accounts are the
wallet itself plus every token account Helius attributes to it: a
``fromTokenAccount`` / ``toTokenAccount`` whose user account is the wallet,
and every ``accountData[].tokenBalanceChanges[].tokenAccount`` whose
``userAccount`` is the wallet. A movement between two own accounts (wrapping
SOL into a wSOL account, closing it back, paying rent for an own associated
token account) is internal and makes no leg.

Native SOL and wrapped SOL are one asset here: both are reported under the
wrapped-SOL mint, in SOL. Helius serves ``tokenTransfers[].tokenAmount`` as a
UI-scaled float (read through ``Decimal(repr(float))``: the shortest text
that round-trips, so no binary noise enters) and native amounts as integer
lamports (FACTS 1.5).

Helius sometimes serves a wSOL ``tokenAmount`` *unscaled*, in raw lamports
(FACTS 1.5 and 2.1, the bug nydiokar/analyzer mitigates). A wSOL amount that
is a whole number is checked against the transaction's own lamport figures
(every ``nativeBalanceChange``, every wSOL ``rawTokenAmount``, every native
transfer): if ``amount * 10**9`` lamports appears there the amount is taken
as scaled, else if ``amount`` lamports appears it is divided by 10**9. With
no evidence either way, a whole amount of at least
:data:`UNSCALED_WSOL_THRESHOLD` SOL is taken as unscaled: no swap of this
kind moves 100,000 SOL, while 100,000 lamports is an ordinary fee leg.

Malformed items (a transfer that is not an object, an amount that is not a
number, a list given as a single object) are skipped or read best-effort;
nothing here raises on odd input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from walletdoctor.solana import LAMPORTS_PER_SOL, NATIVE_SOL_MINT, SOL_DECIMALS

__all__ = ["UNSCALED_WSOL_THRESHOLD", "Leg", "WalletFlows", "as_items", "raw_amount", "wallet_flows"]

#: Whole wSOL amounts at or above this many SOL, with no lamport evidence in
#: the transaction, are read as unscaled lamports (nydiokar/analyzer uses the
#: same order of magnitude, FACTS 2.1).
UNSCALED_WSOL_THRESHOLD = Decimal(100_000)

_LAMPORTS = Decimal(LAMPORTS_PER_SOL)
_ZERO = Decimal(0)
#: A u64 raw amount is below 2e19; a larger UI amount is garbage, and int()
#: of a huge exponent would cost memory.
_MAX_AMOUNT = Decimal("1e25")


class Leg(NamedTuple):
    """One movement between the wallet's own accounts and another account.

    A named tuple rather than a frozen dataclass: a transaction makes a
    dozen of these and a tuple is several times cheaper to build.

    Attributes:
        mint: the asset; native SOL is reported as the wrapped-SOL mint.
        amount: UI units (SOL for SOL), always positive.
        counterparty: the other side's user (owner) account when known, else
            its token account, else ``""`` (a mint or a burn).
        native: ``True`` for a system-program SOL transfer (``nativeTransfers``),
            ``False`` for a token-program transfer (``tokenTransfers``).
    """

    mint: str
    amount: Decimal
    counterparty: str
    native: bool


@dataclass(frozen=True, slots=True)
class WalletFlows:
    """Everything the wallet gave and got in one transaction, before any trade rule.

    Attributes:
        own_accounts: the wallet and its token accounts (see the module docstring).
        inflows / outflows: legs into / out of the wallet's own accounts.
        own_token_changes: exact UI change per mint over the wallet's token
            accounts, from ``accountData`` ``rawTokenAmount`` (empty when the
            payload has no ``accountData``).
        unexplained_sol: SOL the wallet's accounts gained (positive) or lost
            beyond what the legs and the network fee explain, from
            ``accountData`` ``nativeBalanceChange``; ``None`` when
            ``accountData`` does not list the wallet. A program that credits
            lamports directly (no system transfer, so no ``nativeTransfers``
            item) shows up here.
    """

    own_accounts: set[str]
    inflows: list[Leg]
    outflows: list[Leg]
    own_token_changes: dict[str, Decimal]
    unexplained_sol: Decimal | None


def as_items(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a JSON list field; a lone object counts as a one-item list.

    Helius' lists sometimes arrive reduced to one object (the recorded
    ``3JoVBiQE_pump_amm_partial.json`` has ``nativeTransfers`` as an object);
    anything else that is not a list yields nothing.
    """
    if type(value) is list:
        # The common case, a JSON list of objects, is returned as is: the
        # Mapping ABC check costs more than the rest of a transaction.
        for item in value:
            if type(item) is not dict:
                return [item for item in value if isinstance(item, Mapping)]
        return value
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, tuple):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def raw_amount(value: Any) -> Decimal | None:
    """UI amount of a ``{"tokenAmount": "<raw integer>", "decimals": <int>}`` object.

    Signed (``accountData`` changes are). ``None`` when the shape is wrong.
    """
    if not isinstance(value, Mapping):
        return None
    raw, decimals = value.get("tokenAmount"), value.get("decimals")
    if type(decimals) is not int or not 0 <= decimals <= 30:
        return None
    units = _integer(raw)
    return None if units is None else Decimal(units).scaleb(-decimals)


def wallet_flows(transaction: Mapping[str, Any], wallet: str, network_fee_lamports: int) -> WalletFlows:
    """Collect the wallet's legs from ``tokenTransfers`` and ``nativeTransfers``.

    ``network_fee_lamports`` is the fee the wallet paid (0 when another
    account was the fee payer); it only serves to compute
    :attr:`WalletFlows.unexplained_sol`.
    """
    native_transfers = as_items(transaction.get("nativeTransfers"))
    account_data = as_items(transaction.get("accountData"))
    own = {wallet}
    owners: dict[str, str] = {}
    transfers = _token_transfers(wallet, as_items(transaction.get("tokenTransfers")), own, owners)
    changes, lamport_changes, wallet_listed = _scan_account_data(wallet, account_data, own, owners)

    evidence: set[int] | None = None
    inflows: list[Leg] = []
    outflows: list[Leg] = []
    sol_net = _ZERO
    for source, target, source_user, target_user, item in transfers:
        from_own = source_user == wallet or source in own
        if from_own == (target_user == wallet or target in own):
            continue
        mint, amount = item.get("mint"), _ui_amount(item.get("tokenAmount"))
        if type(mint) is not str or not mint or amount is None:
            continue
        if mint == NATIVE_SOL_MINT:
            if amount >= 1 and amount == amount.to_integral_value():
                if evidence is None:
                    evidence = _lamport_evidence(account_data, native_transfers)
                amount = _rescale_wsol(amount, evidence)
            sol_net += -amount if from_own else amount
        if from_own:
            outflows.append(Leg(mint, amount, _party(target_user, target, owners), False))
        else:
            inflows.append(Leg(mint, amount, _party(source_user, source, owners), False))

    for item in native_transfers:
        sender, receiver = item.get("fromUserAccount"), item.get("toUserAccount")
        source = sender if type(sender) is str else ""
        target = receiver if type(receiver) is str else ""
        from_own = source in own
        if from_own == (target in own):
            continue
        lamports = _integer(item.get("amount"))
        if lamports is None or lamports <= 0:
            continue
        amount = Decimal(lamports).scaleb(-SOL_DECIMALS)
        if from_own:
            sol_net -= amount
            outflows.append(Leg(NATIVE_SOL_MINT, amount, _party(target, "", owners), True))
        else:
            sol_net += amount
            inflows.append(Leg(NATIVE_SOL_MINT, amount, _party(source, "", owners), True))

    unexplained = None
    if wallet_listed:
        own_lamports = sum(lamports for account, lamports in lamport_changes if account in own)
        unexplained = Decimal(own_lamports + network_fee_lamports).scaleb(-SOL_DECIMALS) - sol_net
    return WalletFlows(own, inflows, outflows, changes, unexplained)


_Transfer = tuple[str, str, str, str, Mapping[str, Any]]


def _token_transfers(
    wallet: str, items: list[Mapping[str, Any]], own: set[str], owners: dict[str, str]
) -> list[_Transfer]:
    """Read the four account fields of each transfer once; learn owners and own accounts."""
    transfers: list[_Transfer] = []
    for item in items:
        source, target = item.get("fromTokenAccount"), item.get("toTokenAccount")
        source_user, target_user = item.get("fromUserAccount"), item.get("toUserAccount")
        source = source if type(source) is str else ""
        target = target if type(target) is str else ""
        source_user = source_user if type(source_user) is str else ""
        target_user = target_user if type(target_user) is str else ""
        if source and source_user:
            owners[source] = source_user
            if source_user == wallet:
                own.add(source)
        if target and target_user:
            owners[target] = target_user
            if target_user == wallet:
                own.add(target)
        transfers.append((source, target, source_user, target_user, item))
    return transfers


def _scan_account_data(
    wallet: str, account_data: list[Mapping[str, Any]], own: set[str], owners: dict[str, str]
) -> tuple[dict[str, Decimal], list[tuple[str, int]], bool]:
    """One pass over ``accountData``.

    Learns owners and own token accounts; returns the wallet's exact token
    changes per mint, every non-zero lamport change, and whether the wallet
    itself is listed.
    """
    changes: dict[str, Decimal] = {}
    lamport_changes: list[tuple[str, int]] = []
    wallet_listed = False
    for entry in account_data:
        account = entry.get("account")
        if account == wallet:
            wallet_listed = True
        # Most of a swap's thirty-odd entries are programs with no change at
        # all: test for zero before any parsing.
        lamports = entry.get("nativeBalanceChange")
        if lamports and type(account) is str:
            lamports = lamports if type(lamports) is int else _integer(lamports)
            if lamports:
                lamport_changes.append((account, lamports))
        token_changes = entry.get("tokenBalanceChanges")
        if not token_changes:
            continue
        for change in as_items(token_changes):
            token_account, user = change.get("tokenAccount"), change.get("userAccount")
            if type(token_account) is not str or not token_account or type(user) is not str or not user:
                continue
            owners[token_account] = user
            if user == wallet:
                own.add(token_account)
                mint, amount = change.get("mint"), raw_amount(change.get("rawTokenAmount"))
                if type(mint) is str and amount is not None:
                    changes[mint] = changes.get(mint, _ZERO) + amount
    return changes, lamport_changes, wallet_listed


def _party(user: str, token_account: str, owners: Mapping[str, str]) -> str:
    if user:
        return owners.get(user, user)
    return owners.get(token_account, token_account)


def _lamport_evidence(account_data: list[Mapping[str, Any]], native_transfers: list[Mapping[str, Any]]) -> set[int]:
    """Every lamport figure of the transaction, as magnitudes."""
    figures: set[int] = set()
    for entry in account_data:
        lamports = _integer(entry.get("nativeBalanceChange"))
        if lamports:
            figures.add(abs(lamports))
        for change in as_items(entry.get("tokenBalanceChanges")):
            raw = change.get("rawTokenAmount")
            if change.get("mint") == NATIVE_SOL_MINT and isinstance(raw, Mapping):
                units = _integer(raw.get("tokenAmount"))
                if units:
                    figures.add(abs(units))
    for item in native_transfers:
        lamports = _integer(item.get("amount"))
        if lamports:
            figures.add(abs(lamports))
    return figures


def _rescale_wsol(amount: Decimal, evidence: set[int]) -> Decimal:
    """Undo Helius' unscaled-wSOL bug for a whole ``amount`` (see the module docstring)."""
    whole = int(amount)
    if whole * LAMPORTS_PER_SOL in evidence:
        return amount
    if whole in evidence or amount >= UNSCALED_WSOL_THRESHOLD:
        return amount / _LAMPORTS
    return amount


def _ui_amount(value: Any) -> Decimal | None:
    """A positive, finite UI amount from a JSON number (or numeric string)."""
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) if 0 < value < _MAX_AMOUNT else None
    elif isinstance(value, str):
        text = value
    else:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and 0 < amount < _MAX_AMOUNT else None


def _integer(value: Any) -> int | None:
    """An integer from a JSON integer, a whole float, or a decimal-digit string."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        digits = value[1:] if value[:1] in ("-", "+") else value
        return int(value) if digits.isdecimal() and digits.isascii() and len(digits) <= 40 else None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
