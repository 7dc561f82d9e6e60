"""Solana facts the rest of the package relies on: well-known mints, units, addresses.

Amounts on Solana come in two units: raw integers (lamports for SOL, the
token's smallest unit for SPL tokens) and UI amounts (raw / 10**decimals).
WalletDoctor's trade objects always carry UI amounts.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import base58

__all__ = [
    "LAMPORTS_PER_SOL",
    "NATIVE_SOL_MINT",
    "QUOTE_MINTS",
    "SOL_DECIMALS",
    "USDC_MINT",
    "USDT_MINT",
    "USD_STABLECOIN_MINTS",
    "WELL_KNOWN_SYMBOLS",
    "InvalidAddressError",
    "lamports_to_sol",
    "validate_address",
]

#: The wrapped-SOL mint; native SOL and wrapped SOL are one asset to WalletDoctor.
NATIVE_SOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT_MINT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"

SOL_DECIMALS = 9
LAMPORTS_PER_SOL = 10**SOL_DECIMALS

USD_STABLECOIN_MINTS = frozenset({USDC_MINT, USDT_MINT})
#: Assets a trade is priced against: a trade that gives or gets one of these
#: (and not two of them) is a buy or a sell of the other leg.
QUOTE_MINTS = frozenset({NATIVE_SOL_MINT}) | USD_STABLECOIN_MINTS

WELL_KNOWN_SYMBOLS = {NATIVE_SOL_MINT: "SOL", USDC_MINT: "USDC", USDT_MINT: "USDT"}

_PUBLIC_KEY_BYTES = 32


class InvalidAddressError(ValueError):
    """Raised when a string is not a base58-encoded 32-byte Solana public key."""


def validate_address(address: str) -> str:
    """Return ``address`` unchanged if it is a base58 Solana public key (32 bytes).

    Valid addresses are remembered (the decoding is pure Python, and streams
    of the same wallets come again and again); invalid ones are not.

    Raises:
        InvalidAddressError: not base58, or it does not decode to 32 bytes.
    """
    return _valid_address(address)


@functools.lru_cache(maxsize=4096)
def _valid_address(address: str) -> str:
    if not 32 <= len(address) <= 44:
        raise InvalidAddressError("a Solana address is 32 to 44 base58 characters")
    try:
        decoded = base58.b58decode(address)
    except ValueError as exc:
        raise InvalidAddressError("not a base58 string") from exc
    if len(decoded) != _PUBLIC_KEY_BYTES:
        raise InvalidAddressError("does not decode to a 32-byte public key")
    return address


def lamports_to_sol(lamports: int) -> Decimal:
    """Convert an integer amount of lamports to SOL (exact, 10**-9 steps)."""
    return Decimal(lamports).scaleb(-SOL_DECIMALS)
