"""What symbol and price look-ups add to the time to the first ``trades`` event.

Run: ``python -m bench.first_trades [--reps 5]``

The upstreams run in processes of their own, as the real services are
remote and their CPU is not the server's: one ``walletdoctor emulator`` as
Helius' enhanced API host (``POST /v0/transactions``), another as its RPC
host (``getSignaturesForAddress``, DAS ``getAssetBatch``) and as Birdeye,
each at the emulator's defaults (RPC and DAS 150 ms, enhanced 600 ms,
Birdeye 200 ms, +-20 %; Business-plan rate limits). Sharing one emulator
would queue price and symbol answers behind the serialization of parsed
transactions in its single event loop, which the real hosts do not do.

This process builds WalletDoctor apps pointed at them as at the real
services (keys set, the production client code and the default rate
limits: Helius 50 rps, Birdeye 15 rps), run as ``walletdoctor serve`` runs
them (uvloop, the server's collector thresholds and start-up freeze: with
Python's defaults, full collections over the recorded wallet this process
loads for the warm runs stalled the loop for 200-500 ms at a time), and
streams the bundled real wallet, newest first, until the first ``trades``
event:

- *cold*: a fresh app; the first batches wait for DAS ``getAssetBatch``
  and Birdeye ``history_price``;
- *warm*: a fresh app whose symbol directory and price cache were filled
  beforehand with the wallet's every mint and trade time; the look-ups cost
  nothing, the fetch (upstream caches empty) is the same. This is the
  baseline.

The two alternate in order from one repetition to the next. Prints each
repetition, the medians and the median of the per-repetition differences,
which is what the look-ups add (acceptance bound of issue 3: one round
trip, 150-200 ms here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.valuation import value_trades
from walletdoctor.app import create_app
from walletdoctor.appkeys import UPSTREAM_SERVICES
from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX
from walletdoctor.config import Settings
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.server import freeze_startup_objects, tune_collector

__all__ = ["main"]

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
_START_TIMEOUT_S = 30.0
_STREAM_TIMEOUT_S = 60.0
_SETTLE_S = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _emulator() -> AsyncIterator[str]:
    """``walletdoctor emulator`` in a child process; yields its URL once it serves the real wallet."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "walletdoctor", "emulator", "--host", "127.0.0.1", "--port", str(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    # Loads the recorded wallet and prices, so no run pays for it.
                    async with session.post(
                        url + "/",
                        json={"jsonrpc": "2.0", "id": 1, "method": "getSignaturesForAddress", "params": [WALLET]},
                    ) as response:
                        await response.read()
                        break
                except aiohttp.ClientConnectionError:
                    if time.monotonic() > deadline or process.returncode is not None:
                        raise RuntimeError("the emulator did not start") from None
                    await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), _START_TIMEOUT_S)


def _settings(api_url: str, rpc_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' init-only option
        rate_limit_per_minute=1000,
        helius_api_key=SecretStr("bench"),
        helius_api_url=api_url,
        helius_rpc_url=rpc_url,
        birdeye_api_key=SecretStr("bench"),
        birdeye_api_url=rpc_url + BIRDEYE_PREFIX,
    )


async def _fill_lookup_caches(server: TestServer) -> None:
    """Every mint's symbol and every trade's prices, asked once through the app's own services."""
    services = server.app[UPSTREAM_SERVICES]
    history = load_recorded_wallet()
    trades = [t for t in (extract_trade(history.transaction(i), WALLET) for i in range(len(history))) if t]
    await services.tokens.symbols({mint for t in trades for mint in (t.token_in_mint, t.token_out_mint)})
    if services.prices is not None:
        await value_trades(trades, services.prices)


async def _first_trades(api_url: str, rpc_url: str, *, warm: bool) -> float:
    app = create_app(_settings(api_url, rpc_url))
    app.on_startup.append(freeze_startup_objects)
    server = TestServer(app)
    await server.start_server()
    try:
        if warm:
            await _fill_lookup_caches(server)
        # Let the upstreams' per-second rate windows empty: the fill (or the
        # run before) may just have used them up, and a 429 would cost this
        # run a Retry-After that is not the look-ups' own doing.
        await asyncio.sleep(_SETTLE_S)
        url = str(server.make_url(f"/v4/wallet/{WALLET}/stream"))
        timeout = aiohttp.ClientTimeout(total=_STREAM_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            started = time.monotonic()
            async with session.get(url) as response:
                async for line in response.content:
                    if line.startswith(b"event: trades"):
                        return time.monotonic() - started
        raise RuntimeError("the stream ended without a trades event")
    finally:
        await server.close()


async def _main(reps: int) -> None:
    colds: list[float] = []
    warms: list[float] = []
    async with _emulator() as api_url, _emulator() as rpc_url:
        for rep in range(reps):
            if rep % 2:
                warm = await _first_trades(api_url, rpc_url, warm=True)
                cold = await _first_trades(api_url, rpc_url, warm=False)
            else:
                cold = await _first_trades(api_url, rpc_url, warm=False)
                warm = await _first_trades(api_url, rpc_url, warm=True)
            colds.append(cold)
            warms.append(warm)
            print(f"rep {rep + 1}: first trades cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms, "
                  f"added {(cold - warm) * 1000:+.0f} ms", flush=True)  # fmt: skip
    added = [cold - warm for cold, warm in zip(colds, warms, strict=True)]
    print(f"median first trades: cold {statistics.median(colds) * 1000:.0f} ms, warm {statistics.median(warms) * 1000:.0f} ms")
    print(f"added by symbol + price look-ups: median {statistics.median(added) * 1000:+.0f} ms "
          f"(per repetition {min(added) * 1000:+.0f} to {max(added) * 1000:+.0f} ms)")  # fmt: skip
    print("one round trip: DAS getAssetBatch 150 ms, Birdeye history_price 200 ms (emulator defaults, +-20 %)")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    tune_collector()
    uvloop.run(_main(args.reps))


if __name__ == "__main__":
    main()
