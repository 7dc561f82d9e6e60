"""The targets of issue 6, judged against the figures of one run (WalletDoctor against the floor).

Each verdict is ``met``, ``missed`` or ``not measured`` with the figures
it rests on. A small-preset run judges its own, smaller sizes: indicative
only (the issue's sizes are the full preset's).
"""

from __future__ import annotations

from typing import Any

from bench.scenarios.wallet import ORIGINAL_TOTAL_S

__all__ = ["judge"]

_WD = "walletdoctor"


def _row(results: dict[str, Any], scenario: str, server: str, **match: Any) -> dict[str, Any] | None:
    for row in results.get(scenario, {}).get("rows", []):
        if "error" in row or "skipped" in row:
            continue
        if row.get("server") == server and all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _verdict(target: str, ok: bool | None, figure: str) -> dict[str, Any]:
    status = "not measured" if ok is None else ("met" if ok else "missed")
    return {"target": target, "verdict": status, "figure": figure}


def _idle(results: dict[str, Any]) -> dict[str, Any]:
    target = "idle: most streams held, no heartbeat late or missed, RSS/stream <= 1.5x floor"
    levels = [r for r in results.get("idle", {}).get("rows", [])
              if r.get("server") == _WD and "skipped" not in r and "error" not in r]
    if not levels:
        return _verdict(target, None, "no WalletDoctor idle run")
    top = max(levels, key=lambda r: r["C"])
    floor = _row(results, "idle", "floor", C=top["C"])
    held = top["connected"] == top["C"] and top["late"] == 0 and top["missed"] == 0
    if floor is None or floor.get("kb_per_conn") is None or top.get("kb_per_conn") is None:
        return _verdict(target, None, f"C={top['C']}: no floor figure")
    ratio = top["kb_per_conn"] / floor["kb_per_conn"]
    figure = (f"C={top['C']}: {top['connected']} connected, {top['late']} late, {top['missed']} missed; "
              f"{top['kb_per_conn']:.1f} KB/stream vs floor {floor['kb_per_conn']:.1f} ({ratio:.2f}x)")
    return _verdict(target, held and ratio <= 1.5, figure)


def _storm(results: dict[str, Any]) -> dict[str, Any]:
    target = "storm: TTFE p99 <= 1.5x floor and below sse-starlette"
    wd, floor, starlette = (_row(results, "storm", s) for s in (_WD, "floor", "starlette"))
    if wd is None or floor is None or wd.get("ttfe_p99_ms") is None or floor.get("ttfe_p99_ms") is None:
        return _verdict(target, None, "no WalletDoctor or floor storm figure")
    ratio = wd["ttfe_p99_ms"] / floor["ttfe_p99_ms"]
    figure = f"p99 {wd['ttfe_p99_ms']:.0f} ms vs floor {floor['ttfe_p99_ms']:.0f} ms ({ratio:.2f}x)"
    ok = ratio <= 1.5 and wd["connected_min"] == wd["clients"]
    if starlette is not None and starlette.get("ttfe_p99_ms") is not None:
        figure += f", sse-starlette {starlette['ttfe_p99_ms']:.0f} ms"
        ok = ok and wd["ttfe_p99_ms"] < starlette["ttfe_p99_ms"]
    else:
        figure += ", sse-starlette not measured"
    return _verdict(target, ok, figure)


def _fanout(results: dict[str, Any]) -> dict[str, Any]:
    target = "fan-out: events/s >= 0.8x floor and above every other peer"
    rows = results.get("fanout", {}).get("rows", [])
    wd, floor = _row(results, "fanout", _WD), _row(results, "fanout", "floor")
    if wd is None or floor is None:
        return _verdict(target, None, "no WalletDoctor or floor fan-out figure")
    ratio = wd["events_per_s"] / floor["events_per_s"] if floor["events_per_s"] else 0.0
    others = [r for r in rows if r["server"] not in (_WD, "floor") and "error" not in r]
    best = max(others, key=lambda r: r["events_per_s"], default=None)
    figure = f"{wd['events_per_s']:.0f} events/s vs floor {floor['events_per_s']:.0f} ({ratio:.2f}x)"
    ok = ratio >= 0.8
    if best is not None:
        figure += f"; best other peer {best['server']} {best['events_per_s']:.0f}"
        ok = ok and wd["events_per_s"] > best["events_per_s"]
    return _verdict(target, ok, figure)


def _whole_wallet(results: dict[str, Any]) -> dict[str, Any]:
    target = "whole wallet: total <= 1.3x upstream bound and < 15.8/5 s, first trades < 1 s (cold caches)"
    scenario = results.get("whole-wallet", {})
    rows = scenario.get("rows", [])
    if not rows or rows[0].get("total_s") is None:
        return _verdict(target, None, "no whole-wallet run")
    cold, bound = rows[0], scenario["bound"]["total_s"]
    first = cold.get("first_trades_s")
    ok = (cold["completed"] and cold["total_s"] <= 1.3 * bound and cold["total_s"] < ORIGINAL_TOTAL_S / 5
          and first is not None and first < 1.0)
    figure = (f"total {cold['total_s']:.2f} s vs bound {bound:.2f} s ({cold['total_s'] / bound:.2f}x), "
              f"original 15.8 s; first trades {'n/a' if first is None else f'{first:.3f} s'}")
    return _verdict(target, ok, figure)


def _big_wallet(results: dict[str, Any]) -> dict[str, Any]:
    target = "big wallet: peak RSS grows < 50 MB"
    rows = results.get("big-wallet", {}).get("rows", [])
    if not rows:
        return _verdict(target, None, "no big-wallet run")
    row = rows[0]
    growth_mb = row["rss_growth_mib"] * 1.048576
    figure = (f"{row['transactions']} transactions: +{growth_mb:.1f} MB at peak, "
              f"{row['trades_per_s']:.0f} trades/s")
    return _verdict(target, row["completed"] and growth_mb < 50, figure)


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One verdict per target of the issue, in the issue's order."""
    return [_idle(results), _storm(results), _fanout(results), _whole_wallet(results), _big_wallet(results)]
