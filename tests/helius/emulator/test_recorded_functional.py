"""The default book: the emulator serves the recorded real wallet without being given one."""

from __future__ import annotations

import aiohttp
import pytest

from walletdoctor.helius.emulator.app import EMULATOR_BOOK
from walletdoctor.helius.emulator.server import start_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings

# Runs once the recorded wallet module is part of the checkout.
pytest.importorskip("walletdoctor.helius.emulator.recorded")

REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"


async def test_default_book_serves_the_real_wallet_through_signature_paging() -> None:
    async with start_emulator(EmulatorSettings.instant()) as (base_url, app), aiohttp.ClientSession() as session:
        history = app[EMULATOR_BOOK].get(REAL_WALLET)
        assert history is not None
        signatures: list[str] = []
        slots: list[int] = []
        config: dict[str, object] = {"limit": 1000}
        while True:
            body = {"jsonrpc": "2.0", "id": 1, "method": "getSignaturesForAddress", "params": [REAL_WALLET, config]}
            async with session.post(f"{base_url}/?api-key=k", json=body) as response:
                page = (await response.json())["result"]
            if not page:
                break
            signatures += [item["signature"] for item in page]
            slots += [item["slot"] for item in page]
            config["before"] = page[-1]["signature"]
        url = f"{base_url}/v0/addresses/{REAL_WALLET}/transactions"
        async with session.get(url, params={"api-key": "k", "limit": "100"}) as response:
            first_page = await response.json()
    assert 7_000 < len(signatures) == len(set(signatures)) == len(history) < 8_000
    assert slots == sorted(slots, reverse=True)  # newest first
    assert [tx["signature"] for tx in first_page] == signatures[:100]
