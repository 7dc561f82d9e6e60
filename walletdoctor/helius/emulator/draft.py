"""A transaction under construction, and the plain transactions built with it alone.

:class:`TransactionDraft` books every native and token transfer into the
balance deltas it implies, so that ``accountData`` always agrees with
``nativeTransfers`` and ``tokenTransfers`` (:func:`inconsistencies` checks
a transaction against those rules): the fee payer's ``nativeBalanceChange``
is native in - native out - fee, a token account's ``rawTokenAmount`` is
its net token movement, and a wSOL account's lamports move with its tokens
(wrapping and unwrapping leave it at zero). It also writes the instructions
that would have made those transfers (compute budget, system and token
transfers as inner instructions of a program call). DEX shapes build on it
in :mod:`~walletdoctor.helius.emulator.shapes`; plain transfers, account
closes and bare program calls are here.

Units: raw integers throughout (lamports for SOL); only
``tokenTransfers[].tokenAmount`` is a UI number, as Helius sends it.
Accounts that are not real (pools, vaults, token accounts) come from
:func:`derive_address`, so the same pool or token account recurs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from walletdoctor.solana import NATIVE_SOL_MINT, SOL_DECIMALS, WELL_KNOWN_SYMBOLS

__all__ = [
    "ATA_RENT",
    "SYSTEM_PROGRAM",
    "TOKEN_PROGRAM",
    "Header",
    "Leg",
    "TransactionDraft",
    "b58encode",
    "balance_change",
    "close_account_transaction",
    "derive_address",
    "inconsistencies",
    "leg_symbol",
    "program_call_transaction",
    "token_account",
    "transfer_transaction",
    "ui_text",
]

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
_ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
_COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
#: Lamports a token account holds to be rent exempt.
ATA_RENT = 2_039_280

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) text of ``data``.

    Two digits per division: about twice as fast as the ``base58`` package,
    which matters to synthetic wallets (a dozen encodings per transaction).
    """
    n = int.from_bytes(data, "big")
    digits: list[str] = []
    append, pairs = digits.append, _PAIRS
    while n >= 3364:
        n, pair = divmod(n, 3364)
        append(pairs[pair])
    if n:
        append(pairs[n] if n >= 58 else _ALPHABET[n])
    digits.reverse()
    text = "".join(digits)
    if data[:1] == b"\0":
        text = "1" * (len(data) - len(data.lstrip(b"\0"))) + text
    return text


@lru_cache(maxsize=16384)
def derive_address(*parts: str) -> str:
    """A stable fake 32-byte address (base58) named by ``parts``; the same parts give the same address."""
    return b58encode(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=32).digest())


def token_account(owner: str, mint: str) -> str:
    """The token account of ``owner`` for ``mint`` (stands in for the associated token account)."""
    return derive_address("ata", owner, mint)


@dataclass(frozen=True, slots=True)
class Leg:
    """An amount of one asset: ``raw`` units (lamports for SOL) of ``mint`` with ``decimals``."""

    mint: str
    raw: int
    decimals: int
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class Header:
    """Who and when: ``fee`` is the total network fee in lamports, paid by ``fee_payer``."""

    signature: str
    slot: int
    timestamp: int
    fee_payer: str
    fee: int = 5000


def _ui(raw: int, decimals: int) -> int | float:
    # Helius serialises from JavaScript numbers: whole values carry no ".0".
    scale: int = 10**decimals
    whole, rest = divmod(raw, scale)
    return whole if not rest else raw / scale


def ui_text(raw: int, decimals: int) -> str:
    """``raw`` in UI units as plain decimal text without trailing zeros (``1980000000, 9`` -> ``"1.98"``)."""
    return format(Decimal(raw).scaleb(-decimals).normalize(), "f")


def leg_symbol(leg: Leg) -> str:
    """How Helius descriptions name ``leg``'s asset: well-known symbol, else the leg's, else the mint."""
    return WELL_KNOWN_SYMBOLS.get(leg.mint) or leg.symbol or leg.mint


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


@lru_cache(maxsize=256)
def _constant(data: bytes) -> str:
    """Base58 of instruction data that recurs (compute budget, account creation and closing)."""
    return b58encode(data)


@lru_cache(maxsize=64)
def _discriminator(program: str) -> bytes:
    return hashlib.blake2b(program.encode(), digest_size=8).digest()


def balance_change(owner: str, account: str, mint: str, raw: int, decimals: int) -> dict[str, Any]:
    """A Helius ``TokenBalanceChange``: ``raw`` is a signed raw amount, sent as a string."""
    return {"userAccount": owner, "tokenAccount": account,
            "rawTokenAmount": {"tokenAmount": str(raw), "decimals": decimals}, "mint": mint}


class TransactionDraft:
    """One transaction being built; every transfer also books the balance deltas it implies.

    Transfers made between :meth:`call` and :meth:`top` become inner
    instructions of that call, the others top-level instructions. ``seed``
    (16 bytes from the signature) is there for deterministic choices.
    """

    def __init__(self, header: Header) -> None:
        self.header = header
        self.natives: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []
        self.raws: list[int] = []
        self.lamports: dict[str, int] = {header.fee_payer: -header.fee}
        self.balances: dict[str, list[Any]] = {}
        self.wsol: dict[str, str] = {}
        self.readonly: list[str] = [_COMPUTE_BUDGET, SYSTEM_PROGRAM, TOKEN_PROGRAM]
        self.instructions: list[dict[str, Any]] = []
        self.inner: list[dict[str, Any]] | None = None
        self.seed = hashlib.blake2b(header.signature.encode(), digest_size=16).digest()
        units = 100_000 + 50_000 * (self.seed[0] % 6)
        self._ix(_COMPUTE_BUDGET, [], _constant(b"\x02" + units.to_bytes(4, "little")))
        self._ix(_COMPUTE_BUDGET, [], _constant(b"\x03" + _u64(max(header.fee - 5000, 0) * 1_000_000 // units)))

    def _ix(self, program: str, accounts: list[str], data: str) -> None:
        if self.inner is not None:
            self.inner.append({"accounts": accounts, "data": data, "programId": program})
        else:
            self.instructions.append({"accounts": accounts, "data": data, "programId": program,
                                      "innerInstructions": []})

    def call(self, program: str, accounts: list[str], *amounts: int) -> None:
        """Start a top-level instruction of ``program``; later transfers are its inner instructions.

        Its data is an Anchor-style 8-byte discriminator (fixed per program)
        followed by ``amounts`` as little-endian u64.
        """
        self.inner = None
        self._ix(program, accounts, b58encode(_discriminator(program) + b"".join(map(_u64, amounts))))
        self.inner = self.instructions[-1]["innerInstructions"]
        if program not in self.readonly:
            self.readonly.append(program)

    def top(self) -> None:
        """End the current top-level instruction: later transfers are top-level instructions."""
        self.inner = None

    def hold_wsol(self, owner: str, *accounts: str) -> None:
        """Declare ``owner``'s wSOL ``accounts``: native lamports in or out of them wrap or unwrap."""
        for account in accounts:
            self.wsol[account] = owner

    def sol(self, source: str, dest: str, lamports: int) -> None:
        """A native transfer; into or out of a wSOL account it wraps or unwraps as well."""
        self.natives.append({"fromUserAccount": source, "toUserAccount": dest, "amount": lamports})
        balances, wsol = self.balances, self.wsol
        for account, delta in ((source, -lamports), (dest, lamports)):
            self.lamports[account] = self.lamports.get(account, 0) + delta
            if account in wsol:
                balances.setdefault(account, [wsol[account], NATIVE_SOL_MINT, SOL_DECIMALS, 0])[3] += delta
        self._ix(SYSTEM_PROGRAM, [source, dest], b58encode(b"\x02\x00\x00\x00" + _u64(lamports)))

    def token(self, owners: tuple[str, str], accounts: tuple[str, str], leg: Leg) -> dict[str, Any]:
        """Move ``leg`` between (from, to) owners and token accounts; ``""`` on a side is a mint or burn."""
        mint, raw, decimals = leg.mint, leg.raw, leg.decimals
        transfer = {"fromTokenAccount": accounts[0], "toTokenAccount": accounts[1],
                    "fromUserAccount": owners[0], "toUserAccount": owners[1],
                    "tokenAmount": _ui(raw, decimals), "mint": mint, "tokenStandard": "Fungible"}
        self.tokens.append(transfer)
        self.raws.append(raw)
        if mint not in self.readonly:
            self.readonly.append(mint)
        wrapped, lamports, balances = mint == NATIVE_SOL_MINT, self.lamports, self.balances
        for owner, account, delta in ((owners[0], accounts[0], -raw), (owners[1], accounts[1], raw)):
            if account:
                balances.setdefault(account, [owner, mint, decimals, 0])[3] += delta
                lamports[account] = lamports.get(account, 0) + (delta if wrapped else 0)
        self._ix(TOKEN_PROGRAM, [accounts[0] or mint, mint, accounts[1] or mint, owners[0] or owners[1]],
                 b58encode(b"\x0c" + _u64(raw) + bytes([decimals])))
        return transfer

    def open_account(self, owner: str, mint: str) -> str:
        """Create ``owner``'s token account for ``mint``, paying its rent as a native transfer."""
        account = token_account(owner, mint)
        self.top()
        self._ix(_ATA_PROGRAM, [owner, account, owner, mint, SYSTEM_PROGRAM, TOKEN_PROGRAM], _constant(b"\x01"))
        self.sol(owner, account, ATA_RENT)
        return account

    def close(self, account: str, owner: str, lamports: int) -> None:
        """Close ``account``: ``lamports`` go back to ``owner`` (what Helius shows for an unwrap)."""
        self.top()
        self._ix(TOKEN_PROGRAM, [account, owner, owner], _constant(b"\x09"))
        self.sol(account, owner, lamports)

    def finish(self, kind: str, source: str, description: str = "", events: dict[str, Any] | None = None,
               error: str | None = None, unscaled_wsol: bool = False) -> dict[str, Any]:
        """The enhanced transaction; with ``error`` a failed one: fee charged, no transfers, no changes."""
        self.top()
        h = self.header
        if unscaled_wsol:
            for transfer, raw in zip(self.tokens, self.raws):
                if transfer["mint"] == NATIVE_SOL_MINT:
                    transfer["tokenAmount"] = raw
        account_data = []
        for account, lamports in self.lamports.items():
            booked = self.balances.get(account)
            changes = [balance_change(booked[0], account, booked[1], booked[3], booked[2])] \
                if booked and booked[3] and not error else []
            if error:
                lamports = -h.fee if account == h.fee_payer else 0
            account_data.append({"account": account, "nativeBalanceChange": lamports, "tokenBalanceChanges": changes})
        account_data.extend({"account": a, "nativeBalanceChange": 0, "tokenBalanceChanges": []}
                            for a in self.readonly if a not in self.lamports)
        return {"description": "" if error else description, "type": kind, "source": source, "fee": h.fee,
                "feePayer": h.fee_payer, "signature": h.signature, "slot": h.slot, "timestamp": h.timestamp,
                "tokenTransfers": [] if error else self.tokens, "nativeTransfers": [] if error else self.natives,
                "accountData": account_data, "transactionError": {"error": error} if error else None,
                "instructions": self.instructions, "events": events if events and not error else {}}


def inconsistencies(tx: Mapping[str, Any], unscaled_wsol: bool = False) -> list[str]:
    """Where ``tx``'s ``accountData`` disagrees with its transfers, as messages (empty: consistent).

    The rules :class:`TransactionDraft` follows: every account's
    ``nativeBalanceChange`` is native in - native out (- fee for the fee
    payer) + wSOL tokens in - out (a wSOL account's lamports are its
    tokens); every token account's ``rawTokenAmount`` is tokens in - out
    (+ native in - out for a wSOL account). UI amounts are scaled back with
    the decimals the balance changes declare (9 for wSOL, or raw when
    ``unscaled_wsol``), with the slack of a double's 53 bits. Recorded Helius data need not follow these rules:
    Photon's wrap, for one, shows no native transfer.
    """
    decimals = {c["mint"]: c["rawTokenAmount"]["decimals"] for a in tx["accountData"] for c in a["tokenBalanceChanges"]}
    decimals[NATIVE_SOL_MINT] = 0 if unscaled_wsol else SOL_DECIMALS
    lamports: dict[str, int] = {tx["feePayer"]: -tx["fee"]}
    tokens: dict[tuple[str, str], int] = {}
    wsol = {t[k] for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT for k in ("fromTokenAccount", "toTokenAccount")}
    for transfer in tx["nativeTransfers"]:
        for account, sign in ((transfer["fromUserAccount"], -1), (transfer["toUserAccount"], 1)):
            lamports[account] = lamports.get(account, 0) + sign * transfer["amount"]
            if account in wsol:
                tokens[account, NATIVE_SOL_MINT] = tokens.get((account, NATIVE_SOL_MINT), 0) + sign * transfer["amount"]
    for transfer in tx["tokenTransfers"]:
        mint = transfer["mint"]
        raw = int(Decimal(repr(transfer["tokenAmount"])).scaleb(decimals.get(mint, 0)))
        for account, sign in ((transfer["fromTokenAccount"], -1), (transfer["toTokenAccount"], 1)):
            if account:
                tokens[account, mint] = tokens.get((account, mint), 0) + sign * raw
                if mint == NATIVE_SOL_MINT:
                    lamports[account] = lamports.get(account, 0) + sign * raw
    problems = []
    listed = {a["account"]: a for a in tx["accountData"]}
    for account in listed.keys() | {a for a, n in lamports.items() if n}:
        entry = listed.get(account, {"nativeBalanceChange": 0, "tokenBalanceChanges": []})
        if entry["nativeBalanceChange"] != lamports.get(account, 0):
            problems.append(f"{account}: nativeBalanceChange {entry['nativeBalanceChange']}, "
                            f"transfers say {lamports.get(account, 0)}")
    stated = {(c["tokenAccount"], c["mint"]): int(c["rawTokenAmount"]["tokenAmount"])
              for a in tx["accountData"] for c in a["tokenBalanceChanges"]}
    expected = {key: delta for key, delta in tokens.items() if delta}
    # UI floats carry 53 bits: beyond 2**53 raw units they round, as Helius' own do.
    if stated.keys() != expected.keys() or any(abs(stated[k] - v) > abs(v) >> 50 for k, v in expected.items()):
        problems.append(f"token balance changes {stated} but transfers say {expected}")
    return problems


def transfer_transaction(header: Header, natives: list[tuple[str, str, int]],
                         tokens: list[tuple[str, str, Leg]]) -> dict[str, Any]:
    """A plain transfer: ``natives`` are (from, to, lamports), ``tokens`` (from owner, to owner, leg).

    Token accounts are the owners' derived ones. Type ``TRANSFER``, source
    ``SYSTEM_PROGRAM`` when SOL moves, else ``SOLANA_PROGRAM_LIBRARY``.
    """
    tx = TransactionDraft(header)
    for source, dest, lamports in natives:
        tx.sol(source, dest, lamports)
    for source, dest, leg in tokens:
        tx.token((source, dest), (token_account(source, leg.mint), token_account(dest, leg.mint)), leg)
    moves = [(s, d, Leg(NATIVE_SOL_MINT, n, SOL_DECIMALS)) for s, d, n in natives] + list(tokens)
    if len(moves) == 1:
        source, dest, leg = moves[0]
        description = f"{source} transferred {ui_text(leg.raw, leg.decimals)} {leg_symbol(leg)} to {dest}."
    elif tokens or len({s for s, _, _ in natives}) > 1:
        description = ""
    else:
        total = sum(n for _, _, n in natives)
        description = f"{natives[0][0]} transferred a total {ui_text(total, SOL_DECIMALS)} SOL to multiple accounts."
    return tx.finish("TRANSFER", "SYSTEM_PROGRAM" if natives else "SOLANA_PROGRAM_LIBRARY", description)


def close_account_transaction(header: Header, account: str) -> dict[str, Any]:
    """``CLOSE_ACCOUNT``: the fee payer closes an empty token account and gets its rent back."""
    tx = TransactionDraft(header)
    tx.close(account, header.fee_payer, ATA_RENT)
    return tx.finish("CLOSE_ACCOUNT", "SOLANA_PROGRAM_LIBRARY")


def program_call_transaction(header: Header, program: str, source: str = "UNKNOWN") -> dict[str, Any]:
    """``UNKNOWN``: one call of ``program`` by the fee payer that moves nothing but the fee."""
    tx = TransactionDraft(header)
    tx.call(program, [header.fee_payer])
    return tx.finish("UNKNOWN", source)
