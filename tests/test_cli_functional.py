"""``python -m walletdoctor serve`` as a real process: no key, embedded emulator, real wallet."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.conftest import REAL_WALLET, free_port


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HELIUS_API_KEY"}
    env |= {"PORT": str(port), "EMULATOR_ENHANCED_LATENCY_S": "0.05", "EMULATOR_RPC_LATENCY_S": "0.01"}
    process = subprocess.Popen(
        [sys.executable, "-m", "walletdoctor", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/v4/wallet/not-a-wallet/stream", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_without_a_key_streams_the_bundled_wallet(served: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, process = served
    events: list[str] = []
    complete = None
    with httpx.stream("GET", f"{base}/v4/wallet/{REAL_WALLET}/stream?batch_size=1000", timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
            elif line.startswith("data: ") and events[-1] == "complete":
                complete = orjson.loads(line[6:])
    assert events[0] == "connected" and events[-1] == "complete"
    assert complete is not None and complete["trades_found"] > 6000
    process.terminate()
    output = process.communicate(timeout=15)[0].decode()
    assert "embedded Helius emulator" in output, output
    assert process.returncode == 0
