"""Synthetic wallets: deterministic histories of any size, generated one index at a time.

A :class:`SyntheticWallet` is a memecoin trader: buys and sells of a few
dozen tokens on PumpSwap, Meteora and Raydium (built by
:mod:`~walletdoctor.helius.emulator.shapes`, so they look like the real
ones), about 15 % plain transfers, about 1 % failed swaps and about 4 % of
swaps with ``events.swap``. Nothing is stored per transaction: every
item is a function of ``(address, index)``, so memory is O(1) in ``size``.

Signatures encode their index recoverably (64 bytes, base58)::

    tag   = blake2b(key, "sig", index)[:56]
    head  = index XOR blake2b(key, "mask", tag)[:8]      (8 bytes, big endian)
    bytes = head + tag

so they look random from their first character, yet :meth:`index_of`
decodes one with two hashes and rejects any other wallet's. Time runs
backwards from 2025-06-29 in steps of 60 s plus up to 59 s of jitter
(strictly decreasing), slots at 2.5 per second; above 2.3 M transactions
the step shrinks so that the oldest slot stays positive.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import base58
import orjson

from walletdoctor.helius.emulator import draft, shapes
from walletdoctor.helius.emulator.draft import Header, Leg, b58encode, derive_address
from walletdoctor.helius.emulator.history import AssetInfo, SignatureInfo
from walletdoctor.solana import (
    NATIVE_SOL_MINT,
    SOL_DECIMALS,
    USDC_MINT,
    WELL_KNOWN_SYMBOLS,
    validate_address,
)

__all__ = ["ENCODED_CACHE_SIZE", "MAX_SIZE", "SyntheticWallet"]

#: Largest history (a step of 13 s then, back to 2021).
MAX_SIZE = 10_000_000
#: Encoded transactions kept per wallet (about 6 KB each: at most about 60 MB).
ENCODED_CACHE_SIZE = 10_000
_NEWEST_TIME = 1_751_200_000
_NEWEST_SLOT = 349_975_000
_STEP_S = 60
_SLOTS_PER_SECOND = 2.5
_TOKENS = 24
_TOKEN_DECIMALS = 6
_SOL_USD = 150
_FAILED_ERROR = {"InstructionError": [3, {"Custom": 6001}]}
_SYLLABLES = ("BO", "KA", "ZU", "MI", "PE", "RA", "TO", "NI", "GU", "XE", "LO", "FA", "DO", "WI", "SHI", "MOO")


@dataclass(frozen=True, slots=True)
class _Token:
    mint: str
    symbol: str
    price: float  # lamports per raw unit, before the per-trade drift


class SyntheticWallet:
    """A :class:`~walletdoctor.helius.emulator.history.WalletHistory` generated from ``address``.

    The same address and size give the same history; another address gives
    another (signatures, tokens, amounts, timing). Index 0 is the newest.

    Raises:
        walletdoctor.solana.InvalidAddressError: ``address`` is not a base58 public key.
        ValueError: ``size`` is negative or above :data:`MAX_SIZE`.
    """

    def __init__(self, address: str, size: int) -> None:
        if not 0 <= size <= MAX_SIZE:
            raise ValueError(f"size must be 0..{MAX_SIZE}, got {size}")
        self._address = validate_address(address)
        self._size = size
        # Seconds per transaction: at least 1 (2.5 slots, so slots strictly decrease too).
        self._step = max(1, min(_STEP_S, int(_NEWEST_SLOT / _SLOTS_PER_SECOND) // (size + 1)))
        self._key = hashlib.blake2b(b"walletdoctor synthetic wallet\0" + address.encode(), digest_size=32).digest()
        self._tokens = tuple(self._token(k) for k in range(_TOKENS))
        self._counterparties = tuple(derive_address("synthetic-counterparty", address, str(k)) for k in range(8))
        assets: dict[str, AssetInfo] = {
            NATIVE_SOL_MINT: {"symbol": "SOL", "name": "Wrapped SOL", "decimals": SOL_DECIMALS},
            USDC_MINT: {"symbol": WELL_KNOWN_SYMBOLS[USDC_MINT], "name": "USD Coin", "decimals": 6}}
        for token in self._tokens:
            assets[token.mint] = {"symbol": token.symbol, "name": f"{token.symbol.title()} Coin",
                                  "decimals": _TOKEN_DECIMALS}
            for mint in shapes.auxiliary_mints(token.mint):
                assets.setdefault(mint, {"symbol": "", "name": "", "decimals": SOL_DECIMALS})
        self._assets = assets
        # Generating and encoding a transaction takes about 90 us (the bench's
        # fan-out wallet: 0.5 s of the emulator's CPU, on the core its load
        # generators share); streams of one wallet ask for the same ones again.
        self._encoded = functools.lru_cache(maxsize=ENCODED_CACHE_SIZE)(self._encode)

    def _hash(self, *parts: bytes, size: int = 32) -> bytes:
        return hashlib.blake2b(self._key + b"\0".join(parts), digest_size=size).digest()

    def _token(self, k: int) -> _Token:
        d = self._hash(b"token", k.to_bytes(2, "big"))
        symbol = "".join(_SYLLABLES[b % len(_SYLLABLES)] for b in d[:2 + d[2] % 2])
        # 1e-4 .. 1e-1 lamports per raw unit: 1e4 .. 1e7 tokens per SOL, as pump.fun coins trade.
        return _Token(b58encode(d), symbol, 10 ** (-4 + 3 * d[3] / 255))

    @property
    def address(self) -> str:
        """The wallet's base58 address."""
        return self._address

    def __len__(self) -> int:
        return self._size

    def _check(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise IndexError(f"index {index} outside a history of {self._size}")
        return index.to_bytes(8, "big")

    def _signature(self, packed: bytes) -> str:
        tag = self._hash(b"sig", packed, size=56)
        mask = self._hash(b"mask", tag, size=8)
        head = int.from_bytes(packed, "big") ^ int.from_bytes(mask, "big")
        return b58encode(head.to_bytes(8, "big") + tag)

    def _when(self, index: int, digest: bytes) -> tuple[int, int]:
        """(slot, unix time): both strictly decreasing with the index."""
        age = index * self._step + digest[31] % self._step
        return _NEWEST_SLOT - int(age * _SLOTS_PER_SECOND), _NEWEST_TIME - age

    def signature_info(self, index: int) -> SignatureInfo:
        """The ``getSignaturesForAddress`` item at ``index`` (0 = newest). Raises IndexError."""
        packed = self._check(index)
        digest = self._hash(b"tx", packed)
        slot, when = self._when(index, digest)
        return {"signature": self._signature(packed), "slot": slot, "blockTime": when,
                "err": _FAILED_ERROR if self._failed(digest) else None, "memo": None,
                "confirmationStatus": "finalized"}

    def index_of(self, signature: str) -> int | None:
        """The index ``signature`` encodes, ``None`` unless it is one of this wallet's."""
        try:
            raw = base58.b58decode(signature)
        except ValueError:
            return None
        if len(raw) != 64:
            return None
        mask = self._hash(b"mask", raw[8:], size=8)
        index = int.from_bytes(raw[:8], "big") ^ int.from_bytes(mask, "big")
        if index >= self._size or self._hash(b"sig", index.to_bytes(8, "big"), size=56) != raw[8:]:
            return None
        return index

    def assets(self) -> Mapping[str, AssetInfo]:
        """Metadata of every mint the history can touch, by mint."""
        return self._assets

    @staticmethod
    def _failed(digest: bytes) -> bool:
        return 0.15 <= int.from_bytes(digest[:2], "big") / 65536 < 0.16

    def transaction(self, index: int) -> dict[str, Any]:
        """The enhanced transaction at ``index``. Raises IndexError.

        About 15 % transfers, 1 % failed swaps, the rest swaps against SOL:
        40 % PumpSwap, 35 % Meteora, 25 % Raydium (half of them Photon).
        """
        packed = self._check(index)
        d = self._hash(b"tx", packed)
        slot, when = self._when(index, d)
        share = int.from_bytes(d[:2], "big") / 65536
        fee = 5000 + (0, 5000, 100_000, 1_000_000)[d[4] % 4]
        header = Header(self._signature(packed), slot, when, self._address, fee)
        if share < 0.15:
            return self._transfer(header, d)
        token = self._tokens[(index // 8 + d[2] % 3) % _TOKENS]
        sol = Leg(NATIVE_SOL_MINT, int(50_000_000 * 500 ** (int.from_bytes(d[6:8], "big") / 65536)), SOL_DECIMALS)
        drift = 0.6 + d[8] / 255
        coin = Leg(token.mint, max(int(sol.raw / (token.price * drift)), 1), _TOKEN_DECIMALS, token.symbol)
        buys = d[3] & 1 == 0
        venue = d[5] % 100
        spec = shapes.SwapSpec(
            header, sol if buys else coin, coin if buys else sol, hop=Leg(USDC_MINT, sol.raw * _SOL_USD // 1000, 6),
            swap_event=d[9] < 10, failed=self._failed(d), new_token_account=buys and d[10] < 24,
            tip=(0, 1_000_000, 12_000_000)[d[11] % 3], photon_fee=venue >= 75 and d[12] & 1 == 1)
        if venue < 40:
            return shapes.pump_amm_swap(spec)
        if venue < 75:
            return shapes.meteora_swap(spec)
        return shapes.raydium_swap(spec)

    def transaction_json(self, index: int) -> bytes:
        """:meth:`transaction` at ``index``, encoded (the last :data:`ENCODED_CACHE_SIZE`
        kept). Raises IndexError."""
        return self._encoded(index)

    def _encode(self, index: int) -> bytes:
        return orjson.dumps(self.transaction(index))

    def _transfer(self, header: Header, d: bytes) -> dict[str, Any]:
        """SOL in or out between the wallet and a counterparty, or an airdrop of one of its tokens."""
        other = self._counterparties[d[13] % len(self._counterparties)]
        kind = d[14] % 4
        if kind == 3:
            token = self._tokens[d[15] % _TOKENS]
            leg = Leg(token.mint, 1_000_000 * (1 + d[16]), _TOKEN_DECIMALS, token.symbol)
            return draft.transfer_transaction(Header(header.signature, header.slot, header.timestamp, other),
                                               [], [(other, self._address, leg)])
        lamports = int(10_000_000 * 1000 ** (d[17] / 255))
        if kind == 0:
            return draft.transfer_transaction(header, [(self._address, other, lamports)], [])
        return draft.transfer_transaction(Header(header.signature, header.slot, header.timestamp, other),
                                           [(other, self._address, lamports)], [])
