"""A slow reader among streams that share one fetch: does it delay the others?

Run: ``python -m bench.shared_fetch [--streams 200] [--transactions 20000] [--reps 3]``

Each repetition starts ``walletdoctor serve`` and ``walletdoctor emulator``
in processes of their own, pinned to a core each as in the other
scenarios (20 ms enhanced, 10 ms RPC latency, no rate limit, no upstream
cache, a synthetic wallet), and runs two rounds of concurrent streams of
that wallet from this process, all opened at once, which share one fetch:

- *baseline*: ``streams`` readers that read as fast as they can;
- *with a slow reader*: ``streams - 1`` such readers plus one that reads
  1 KB per second from a small socket buffer.

The two rounds alternate which goes first from one repetition to the next.

Prints, per round, the upstream parse requests (one fetch: about 200) and
the time until the last and the median fast reader completed, and the
ratio of the slow round to the baseline (the issue's bound: at most 1.10).
A stream that arrives once its feed is past its first events (a feed
keeps 4 MiB) starts a fetch of its own, and the round then measures two
fetches, not a slow reader: with the clients in the server's process every
round made three fetches (594 parse requests), and opening the first
stream before the others once gave a round two (396).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import base58
import uvloop

from bench.processes import ProcessKeeper
from bench.servers import Launcher
from bench.upstream import INSTANT, Emulator

__all__ = ["main"]

#: A valid, deterministic address for the synthetic wallet.
WALLET = base58.b58encode(hashlib.sha256(b"bench-shared-fetch").digest()).decode()
SLOW_BYTES_PER_S = 1024


async def _fast(session: aiohttp.ClientSession, url: str, started: float) -> float:
    async with session.get(url) as response:
        window = b""
        completed = False
        async for chunk in response.content.iter_any():
            window = window[-32:] + chunk
            completed = completed or b"event: complete" in window
    if not completed:
        raise RuntimeError("a fast reader's stream did not complete")
    return time.monotonic() - started


async def _slow(host: str, port: int, path: str, stop: asyncio.Event) -> int:
    """Read ``SLOW_BYTES_PER_S`` a second until ``stop``; returns bytes read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    read = 0
    try:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(sock, SLOW_BYTES_PER_S), 1.0)
            except TimeoutError:
                continue
            if not chunk:
                break
            read += len(chunk)
            await asyncio.sleep(1.0)
    finally:
        sock.close()
    return read


async def _round(base: str, emulator: Emulator, streams: int, *, slow: bool) -> dict[str, float]:
    url = f"{base}/v4/wallet/{WALLET}/stream"
    host, port = base.removeprefix("http://").split(":")
    stop = asyncio.Event()
    emulator.reset_stats()
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=600)) as session:
        slow_task = asyncio.create_task(_slow(host, int(port), f"/v4/wallet/{WALLET}/stream", stop)) if slow else None
        fast = await asyncio.gather(*(_fast(session, url, started) for _ in range(streams - (1 if slow else 0))))
        stop.set()
        slow_read = await slow_task if slow_task is not None else 0
    parse = emulator.requests_by_endpoint()["enhanced_parse"]
    return {"last_s": max(fast), "median_s": statistics.median(fast), "parse_requests": parse, "slow_bytes": slow_read}


async def _repetition(streams: int, transactions: int, *, first_slow: bool) -> tuple[dict[str, float], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="wd-shared-fetch-") as scratch:
        keeper = ProcessKeeper(Path(scratch) / "logs")
        try:
            launcher = Launcher(keeper, Path(scratch) / "work")
            emulator = Emulator.start(keeper, launcher.base_env(), synthetic={WALLET: transactions})
            emulator.configure(**(INSTANT | {"enhanced_latency_s": 0.02, "rpc_latency_s": 0.01}))
            env = emulator.walletdoctor_env(upstream_cache_ttl_s=0)
            server = launcher.start("walletdoctor", heartbeat_s=10.0, capacity=streams, walletdoctor_env=env)
            base = server.url
            # Alternate the order so that neither round always runs on a warmer process.
            if first_slow:
                with_slow = await _round(base, emulator, streams, slow=True)
                baseline = await _round(base, emulator, streams, slow=False)
            else:
                baseline = await _round(base, emulator, streams, slow=False)
                with_slow = await _round(base, emulator, streams, slow=True)
        finally:
            keeper.close()
    return baseline, with_slow


async def _main(streams: int, transactions: int, reps: int) -> None:
    ratios = []
    for rep in range(reps):
        baseline, with_slow = await _repetition(streams, transactions, first_slow=rep % 2 == 1)
        ratio = with_slow["last_s"] / baseline["last_s"]
        ratios.append(ratio)
        print(
            f"rep {rep + 1}: baseline {streams} fast: last done {baseline['last_s']:.2f} s, median {baseline['median_s']:.2f} s, "
            f"{baseline['parse_requests']:.0f} parse requests | with one 1 KB/s reader: last of {streams - 1} fast "
            f"{with_slow['last_s']:.2f} s, median {with_slow['median_s']:.2f} s, {with_slow['parse_requests']:.0f} parse "
            f"requests, slow reader got {with_slow['slow_bytes']:.0f} B | ratio {ratio:.3f}"
        )
    print(f"median ratio (slow round / baseline, last fast reader done): {statistics.median(ratios):.3f} (bound 1.10)")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    uvloop.run(_main(args.streams, args.transactions, args.reps))


if __name__ == "__main__":
    main()
