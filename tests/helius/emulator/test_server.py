"""Running the emulator: in-process on a free port, and as its own blocking process."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import aiohttp

from walletdoctor.helius.emulator.app import EMULATOR_SETTINGS
from walletdoctor.helius.emulator.history import WalletBook
from walletdoctor.helius.emulator.server import start_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings

_RUN_EMULATOR = """
import sys
from walletdoctor.helius.emulator.history import WalletBook
from walletdoctor.helius.emulator.server import run_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings
run_emulator("127.0.0.1", int(sys.argv[1]), EmulatorSettings.instant(), book=WalletBook([]))
"""


async def test_start_emulator_serves_on_a_free_port_and_frees_it() -> None:
    settings = EmulatorSettings.instant()
    async with start_emulator(settings, WalletBook([])) as (base_url, app):
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith("/")
        assert app[EMULATOR_SETTINGS] is settings
        port = int(base_url.rsplit(":", 1)[1])
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_emulator/settings") as response:
            assert response.status == 200
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_emulator_serves_until_sigterm() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RUN_EMULATOR, str(port), stdout=asyncio.subprocess.DEVNULL
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/_emulator/stats") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("run_emulator did not start listening")
            body = {"jsonrpc": "2.0", "id": 1, "method": "getAssetBatch", "params": {"ids": ["x"]}}
            async with session.post(f"http://127.0.0.1:{port}/?api-key=k", json=body) as response:
                assert (await response.json())["result"] == [None]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
