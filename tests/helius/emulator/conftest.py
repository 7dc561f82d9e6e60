"""Fixtures for the emulator tests: a tiny in-memory wallet and emulators serving it over loopback HTTP.

The tiny wallet keeps these tests independent of the recorded and synthetic
wallets: 40 transactions, index 0 the newest, a SWAP every 10th (indices 0,
10, 20, 30) and TRANSFERs in between, two mints with metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import base58
import orjson
import pytest

from walletdoctor.helius.emulator.history import AssetInfo, SignatureInfo, WalletBook
from walletdoctor.helius.emulator.server import start_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings
from walletdoctor.solana import USDC_MINT

__all__ = ["API_KEY", "BONK_MINT", "TINY_SIZE", "Emulator", "TinyWallet", "key_of"]

API_KEY = "test-key"
TINY_SIZE = 40
BONK_MINT = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
_NEWEST_SLOT = 340_000_000
_NEWEST_TIME = 1_750_000_000


def key_of(seed: str, size: int = 32) -> str:
    """A deterministic base58 string of ``size`` bytes (32: an address, 64: a signature)."""
    digest = hashlib.sha512(seed.encode()).digest()
    return base58.b58encode(digest[:size]).decode()


class TinyWallet:
    """A :class:`WalletHistory` of ``size`` transactions; every 10th (from 0) a Raydium SWAP.

    Slots and block times fall by 2 and 1 per index, so index ``i`` has
    ``slot == 340_000_000 - 2*i`` and ``blockTime == 1_750_000_000 - i``.
    """

    def __init__(self, name: str = "tiny", size: int = TINY_SIZE, address: str | None = None) -> None:
        self._address = address or key_of(f"address:{name}")
        self._signatures = [key_of(f"sig:{name}:{i}", 64) for i in range(size)]
        self._positions = {sig: i for i, sig in enumerate(self._signatures)}

    @property
    def address(self) -> str:
        return self._address

    @property
    def signatures(self) -> list[str]:
        """All signatures, newest first."""
        return list(self._signatures)

    def __len__(self) -> int:
        return len(self._signatures)

    def signature_info(self, index: int) -> SignatureInfo:
        return {
            "signature": self._signatures[index],
            "slot": _NEWEST_SLOT - 2 * index,
            "blockTime": _NEWEST_TIME - index,
            "err": None,
            "memo": None,
            "confirmationStatus": "finalized",
        }

    def index_of(self, signature: str) -> int | None:
        return self._positions.get(signature)

    def transaction(self, index: int) -> dict[str, Any]:
        swap = index % 10 == 0
        return {
            "signature": self._signatures[index],
            "slot": _NEWEST_SLOT - 2 * index,
            "timestamp": _NEWEST_TIME - index,
            "type": "SWAP" if swap else "TRANSFER",
            "source": "RAYDIUM" if swap else "SYSTEM_PROGRAM",
            "fee": 5000,
            "feePayer": self._address,
            "description": "",
            "nativeTransfers": [],
            "tokenTransfers": [],
            "accountData": [],
            "transactionError": None,
            "instructions": [],
            "events": {},
        }

    def transaction_json(self, index: int) -> bytes:
        return orjson.dumps(self.transaction(index))

    def assets(self) -> Mapping[str, AssetInfo]:
        return {
            USDC_MINT: {"symbol": "USDC", "name": "USD Coin", "decimals": 6},
            BONK_MINT: {"symbol": "Bonk", "name": "Bonk", "decimals": 5},
        }


class Emulator:
    """A running emulator and a client session to it (``url(path)`` adds the api-key)."""

    def __init__(self, base_url: str, app: Any, session: aiohttp.ClientSession, wallet: TinyWallet) -> None:
        self.base_url = base_url
        self.app = app
        self.session = session
        self.wallet = wallet

    def url(self, path: str, key: str | None = API_KEY) -> str:
        return f"{self.base_url}{path}" + (f"?api-key={key}" if key is not None else "")

    async def rpc(self, method: str, params: Any, key: str | None = API_KEY) -> Any:
        """One JSON-RPC call; returns the decoded answer (``result`` or ``error`` object)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with self.session.post(self.url("/", key), json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def history(self, address: str | None = None, **params: Any) -> tuple[int, Any]:
        """``GET /v0/addresses/{address}/transactions`` (the tiny wallet by default): ``(status, json)``."""
        query = {"api-key": API_KEY} | {k.replace("_", "-"): str(v) for k, v in params.items()}
        path = f"/v0/addresses/{address or self.wallet.address}/transactions"
        async with self.session.get(self.base_url + path, params=query) as response:
            return response.status, await response.json(content_type=None)


@pytest.fixture
def tiny_wallet_class() -> type[TinyWallet]:
    """The class, for tests that build more wallets (test modules cannot import conftest)."""
    return TinyWallet


@pytest.fixture
def tiny_wallet() -> TinyWallet:
    return TinyWallet()


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    """Zero latency, no rate limit, no faults; a search window of 5 so the tiny wallet reaches it."""
    return EmulatorSettings.instant(history_search_window=5)


@pytest.fixture
async def emulator(emulator_settings: EmulatorSettings, tiny_wallet: TinyWallet) -> AsyncIterator[Emulator]:
    """The emulator serving the tiny wallet over real loopback HTTP."""
    async with (
        start_emulator(emulator_settings, WalletBook([tiny_wallet])) as (base_url, app),
        aiohttp.ClientSession() as session,
    ):
        yield Emulator(base_url, app, session, tiny_wallet)
