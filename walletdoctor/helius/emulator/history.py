"""What the emulator serves: a wallet's history as a read-only, newest-first sequence.

Two kinds of wallet implement :class:`WalletHistory`: the recorded real
wallet (``recorded.py``, loaded from the fixture shipped in ``data/``) and
synthetic wallets of any size generated from their address
(``synthetic.py``). The emulator's HTTP layer (``app.py``) only talks to
this protocol and to :class:`WalletBook`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypedDict

__all__ = ["AssetInfo", "SignatureInfo", "WalletBook", "WalletHistory"]


class SignatureInfo(TypedDict):
    """One item of JSON-RPC ``getSignaturesForAddress``'s result."""

    signature: str
    slot: int
    blockTime: int
    err: Any
    memo: str | None
    confirmationStatus: str


class AssetInfo(TypedDict):
    """Token metadata as DAS ``getAssetBatch`` reports it (the fields WalletDoctor reads)."""

    symbol: str
    name: str
    decimals: int


class WalletHistory(Protocol):
    """A wallet's transaction history, index 0 the newest (Helius' default order)."""

    @property
    def address(self) -> str:
        """The wallet's base58 address."""

    def __len__(self) -> int:
        """Number of transactions (signatures) in the history."""

    def signature_info(self, index: int) -> SignatureInfo:
        """The ``getSignaturesForAddress`` item at ``index`` (0 = newest). Raises IndexError."""

    def index_of(self, signature: str) -> int | None:
        """Position of ``signature`` in this history, ``None`` if it is not this wallet's."""

    def transaction(self, index: int) -> dict[str, Any]:
        """The enhanced transaction (Helius ``EnhancedTransaction`` JSON) at ``index``."""

    def transaction_json(self, index: int) -> bytes:
        """:meth:`transaction` at ``index`` as JSON bytes, as an answer carries it."""

    def assets(self) -> Mapping[str, AssetInfo]:
        """Metadata of every mint the history touches, by mint."""


class WalletBook:
    """All wallets an emulator serves, with look-ups across them.

    ``POST /v0/transactions`` and ``getAssetBatch`` name signatures and mints
    without a wallet, so they are resolved here.
    """

    def __init__(self, wallets: Iterable[WalletHistory]) -> None:
        self._wallets: dict[str, WalletHistory] = {w.address: w for w in wallets}

    def add(self, wallet: WalletHistory) -> None:
        """Serve ``wallet`` too (replacing one with the same address)."""
        self._wallets[wallet.address] = wallet

    def get(self, address: str) -> WalletHistory | None:
        """The history of ``address``, or ``None`` when the emulator has none."""
        return self._wallets.get(address)

    def find_transaction(self, signature: str) -> dict[str, Any] | None:
        """The enhanced transaction with ``signature`` in any wallet, else ``None``."""
        found = self._locate(signature)
        return None if found is None else found[0].transaction(found[1])

    def find_transaction_json(self, signature: str) -> bytes | None:
        """:meth:`find_transaction` as JSON bytes (no decoding and encoding again)."""
        found = self._locate(signature)
        return None if found is None else found[0].transaction_json(found[1])

    def _locate(self, signature: str) -> tuple[WalletHistory, int] | None:
        for wallet in self._wallets.values():
            index = wallet.index_of(signature)
            if index is not None:
                return wallet, index
        return None

    def find_asset(self, mint: str) -> AssetInfo | None:
        """Metadata of ``mint`` from any wallet that touches it, else ``None``."""
        for wallet in self._wallets.values():
            asset = wallet.assets().get(mint)
            if asset is not None:
                return asset
        return None
