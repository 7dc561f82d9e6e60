"""Birdeye: historical USD prices of Solana tokens, its client and an emulator of its API.

The client's public surface is re-exported here. The emulator
(:mod:`walletdoctor.birdeye.emulator`, over a
:class:`~walletdoctor.birdeye.prices_book.PriceBook`) is imported from its
own module, as the Helius emulator is, so that the client does not load it.
"""

from walletdoctor.birdeye.client import INTERVAL_SECONDS, MAX_HISTORY_ITEMS, BirdeyeClient, PricePoint
from walletdoctor.birdeye.errors import BirdeyeError, InvalidResponse, RateLimited, Rejected, Unavailable

__all__ = [
    "INTERVAL_SECONDS",
    "MAX_HISTORY_ITEMS",
    "BirdeyeClient",
    "BirdeyeError",
    "InvalidResponse",
    "PricePoint",
    "RateLimited",
    "Rejected",
    "Unavailable",
]
