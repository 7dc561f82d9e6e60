"""Build the recorded prices the Birdeye emulator serves, from the real wallet's activity export.

Input (read-only): ``../shared/data/exports/3JoVBiQE_activity_export.csv``, a
third-party export of the wallet's activity. Each ``swap`` row gives
``token0`` (what the wallet gave) and ``token1`` (what it got), each with
``*_address`` (a mint, or ``native`` for SOL), ``*_amount`` (UI units),
``*_amount_usd`` and ``*_price_usd``. The price columns carry 6 decimals,
so a memecoin worth 1.4e-8 USD shows ``0.000000``; the price of a leg is
therefore derived as ``*_amount_usd / *_amount`` (exact Decimal division,
28 significant digits), for every leg with both numbers above zero.

Output: ``walletdoctor/birdeye/data/3JoVBiQE_prices.json.gz``, shipped as
package data and read by :func:`walletdoctor.birdeye.prices_book.load_recorded_prices`::

    {"wallet": str, "source": str, "points": int,
     "mints": {mint: [[unix_s, "usd_per_ui_token"], ...]}}   # mints and points sorted

One point per mint and timestamp, at the swap's own timestamp. When several
legs of one mint share a second, the largest leg wins: its 6-decimal amount
is the least rounded, so its derived price is the most exact.

Run ``python -m walletdoctor.birdeye.fixture`` (``--help`` for paths). The
output is byte-identical for the same input (gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import csv
import gzip
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import orjson

from walletdoctor.birdeye.prices_book import FIXTURE
from walletdoctor.solana import NATIVE_SOL_MINT

__all__ = ["DEFAULT_EXPORT", "DEFAULT_OUT", "REAL_WALLET", "build_prices", "main", "write_prices"]

REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
_REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXPORT = _REPO.parent / "shared" / "data" / "exports" / "3JoVBiQE_activity_export.csv"
DEFAULT_OUT = Path(__file__).resolve().parent / FIXTURE

_LEGS = ("token0", "token1")


def _decimal(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def build_prices(rows: Iterable[dict[str, str]]) -> dict[str, list[tuple[int, Decimal]]]:
    """Recorded prices by mint from the export's rows: ``{mint: [(unix_s, usd), ...]}`` in time order.

    Only ``swap`` rows count; ``native`` is the wrapped-SOL mint. Raises
    ``ValueError`` for a timestamp that is not ISO-8601.
    """
    best: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    for row in rows:
        if row.get("tx_type") != "swap":
            continue
        when = int(datetime.fromisoformat(row["timestamp"]).timestamp())
        for leg in _LEGS:
            address = row[f"{leg}_address"]
            amount, usd = _decimal(row[f"{leg}_amount"]), _decimal(row[f"{leg}_amount_usd"])
            if not address or amount <= 0 or usd <= 0:
                continue
            mint = NATIVE_SOL_MINT if address == "native" else address
            key = (mint, when)
            if key not in best or amount > best[key][0]:
                best[key] = (amount, usd / amount)
    prices: dict[str, list[tuple[int, Decimal]]] = {}
    for (mint, when), (_, price) in sorted(best.items()):
        prices.setdefault(mint, []).append((when, price))
    return prices


def write_prices(prices: dict[str, list[tuple[int, Decimal]]], out: Path, *, source: str) -> int:
    """Write the fixture (layout in the module docstring); returns its size in bytes."""
    document = {
        "wallet": REAL_WALLET,
        "source": source,
        "points": sum(len(points) for points in prices.values()),
        "mints": {mint: [[when, str(price)] for when, price in points] for mint, points in sorted(prices.items())},
    }
    data = gzip.compress(orjson.dumps(document), compresslevel=9, mtime=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: read the export, write the fixture, print a one-line summary."""
    parser = argparse.ArgumentParser(prog="python -m walletdoctor.birdeye.fixture", description=__doc__.split("\n")[0])
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT, help="the activity export (CSV)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the gzip'd JSON")
    args = parser.parse_args(argv)
    with args.export.open(newline="", encoding="utf-8") as handle:
        prices = build_prices(csv.DictReader(handle))
    size = write_prices(prices, args.out, source=args.export.name)
    points = sum(len(p) for p in prices.values())
    print(f"wrote {args.out}: {len(prices)} mints, {points} points, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
