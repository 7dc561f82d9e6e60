"""Whole wallet and big wallet: one WalletDoctor stream of a whole history, through the emulator.

*Whole wallet*: the bundled real wallet at the emulator's defaults (RPC
150 ms, enhanced 600 ms, +-20 % jitter, 50 enhanced requests/s: Helius'
Business plan) with WalletDoctor's default limits, Birdeye prices from the
emulator's ``/birdeye``. ``wallet_reps`` streams on one server: the first
finds the process's symbol and price caches empty (what the verdict uses),
the others find them filled. Printed beside the upstream bound
(:mod:`bench.bounds`) and the original WalletDoctor's 487 ms to first
byte and 15.8 s total for 5,478 trades.

*Big wallet*: a synthetic wallet of ``big_wallet_size`` transactions, no
upstream latency or limit, no Birdeye. The server's RSS is sampled every
0.1 s: growth = peak - RSS just before the request. Trades/s = trades
found / time from request to ``complete``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from bench.bounds import upstream_bound
from bench.context import Bench
from bench.figures import mib
from bench.generators import GeneratorGroup
from bench.processes import Sampler
from bench.servers import RunningServer
from bench.upstream import HELIUS_DEFAULTS, REAL_WALLET, big_wallet_address

__all__ = ["ORIGINAL_FIRST_BYTE_S", "ORIGINAL_TOTAL_S", "ORIGINAL_TRADES", "run_big_wallet", "run_whole_wallet"]

#: The original WalletDoctor's reported run of this wallet.
ORIGINAL_FIRST_BYTE_S = 0.487
ORIGINAL_TOTAL_S = 15.8
ORIGINAL_TRADES = 5478
_TAIL_BYTES = 4 * 1024 * 1024


def run_whole_wallet(bench: Bench) -> dict[str, Any]:
    """The real wallet, ``wallet_reps`` times; ``{"rows": [...], "bound": {...}}``."""
    assert bench.emulator is not None
    emulator = bench.emulator
    settings = emulator.configure(**HELIUS_DEFAULTS)
    server = bench.start(
        "walletdoctor", capacity=1, setup="as-is",
        birdeye_api_key="bench-birdeye-key", birdeye_api_url=f"{emulator.url}/birdeye",
    )
    rows = []
    try:
        time.sleep(0.5)
        for rep in range(bench.preset.wallet_reps):
            emulator.reset_stats()
            row = _one_stream(bench, server, f"/v4/wallet/{REAL_WALLET}/stream", f"whole-wallet-{rep}", 240.0)
            row["caches"] = "cold" if rep == 0 else "warm"
            row["upstream_requests"] = emulator.requests_by_endpoint()
            rows.append(row)
            bench.say(f"whole wallet rep {rep + 1} ({row['caches']}): first trades {row['first_trades_s']:.3f} s, "
                      f"total {row['total_s']:.2f} s, {row['trades_found']} trades")
    finally:
        bench.stop(server)
    first = rows[0]
    bound = upstream_bound(first["transactions"], first["mints"], settings)
    return {
        "rows": rows,
        "emulator_settings": {k: settings[k] for k in HELIUS_DEFAULTS},
        "bound": {
            "total_s": bound.total_s, "first_trades_s": bound.first_trades_s, "listing_s": bound.listing_s,
            "rate_s": bound.rate_s, "signature_pages": bound.signature_pages,
            "enhanced_requests": bound.enhanced_requests,
        },
        "original": {"first_byte_s": ORIGINAL_FIRST_BYTE_S, "total_s": ORIGINAL_TOTAL_S, "trades": ORIGINAL_TRADES},
    }


def run_big_wallet(bench: Bench) -> dict[str, Any]:
    """One stream of the synthetic big wallet; ``{"rows": [row]}``."""
    server = bench.start("walletdoctor", capacity=1, setup="unthrottled")
    try:
        time.sleep(1.0)
        before = server.usage()
        with Sampler({"server": server.process.pid}, interval_s=0.1, max_s=1900) as sampler:
            row = _one_stream(bench, server, f"/v4/wallet/{big_wallet_address()}/stream", "big-wallet", 1800.0)
        after = server.usage()
    finally:
        bench.stop(server)
    peak = max(sampler.peak_rss("server"), after.rss)
    row |= {
        "wallet_size": bench.preset.big_wallet_size,
        "rss_start_mib": mib(before.rss),
        "rss_peak_mib": mib(peak),
        "rss_end_mib": mib(after.rss),
        "rss_growth_mib": mib(peak - before.rss),
        "trades_per_s": row["trades_found"] / row["total_s"] if row["total_s"] else None,
        "transactions_per_s": row["transactions"] / row["total_s"] if row["total_s"] else None,
        "server_cpu_s": after.cpu_s - before.cpu_s,
    }
    bench.say(f"big wallet: {row['transactions']} transactions, {row['trades_found']} trades in {row['total_s']:.1f} s "
              f"({row['trades_per_s']:.0f} trades/s), RSS +{row['rss_growth_mib']:.1f} MiB at peak")
    return {"rows": [row]}


def _one_stream(bench: Bench, server: RunningServer, path: str, label: str, max_s: float) -> dict[str, Any]:
    group = GeneratorGroup(
        bench.keeper, label, port=server.port, paths=[path], n=1, processes=1, connect_limit=None,
        exit_when_done=True, keep_tail=_TAIL_BYTES, max_s=max_s, ramp_s=30.0, source_base=40,
    )
    try:
        report = group.wait_done(max_s + 30)
    finally:
        group.close()
    requested = report["request_at"][0]
    complete = final_event(report["tails"][0], "complete") or {}
    summary = complete.get("summary", {})
    finished = report["complete_at"][0] or report["ended_at"][0]
    return {
        "first_byte_s": _since(requested, report["first_byte_at"][0]),
        "connected_s": _since(requested, report["connected_at"][0]),
        "first_trades_s": _since(requested, report["first_trades_at"][0]),
        "total_s": _since(requested, finished),
        "completed": report["complete_at"][0] is not None,
        "error_event": report["error_event"][0],
        "trades_events": report["trades"][0],
        "trades_found": complete.get("trades_found", 0),
        "transactions": summary.get("transactions_scanned", 0),
        "mints": summary.get("tokens_traded", 0) + 1,  # the traded tokens and SOL
        "server_duration_s": complete.get("duration"),
        "bytes": report["nbytes"][0],
    }


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else end - start


def final_event(tail: str, name: str) -> dict[str, Any] | None:
    """The data of the last ``name`` event in the end of a stream, if it is there whole."""
    marker = f"\nevent: {name}\ndata: "
    at = tail.rfind(marker)
    if at == -1:
        return None
    start = at + len(marker)
    end = tail.find("\n", start)
    try:
        data: dict[str, Any] = orjson.loads(tail[start : end if end != -1 else None])
    except orjson.JSONDecodeError:
        return None
    return data
