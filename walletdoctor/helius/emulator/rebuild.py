"""Rebuild the real wallet's whole Helius history from its activity export.

Inputs (read-only, in ``../shared/data``): the third-party activity export
(7,526 rows, 7,424 signatures) and one page of 20 enhanced transactions
recorded from Helius. Output: the fixture the emulator serves for
``3JoVBiQE…`` (``data/3JoVBiQE.json.gz``): gzip'd JSON lines, so that a
reader can keep each transaction as bytes without holding 50 MB of dicts::

    line 1:  {"address": str, "count": int,
              "assets": {mint: {"symbol", "name", "decimals"}},
              "quirks": {"unscaled_wsol": [signature, ...]}}
    line 2+: one EnhancedTransaction per line, newest first

One transaction per distinct signature of the export and the page. The
page's transactions are copied verbatim; the others are built by
:mod:`~walletdoctor.helius.emulator.shapes` from their export rows, so that a
correct parser recovers each swap row's mints and amounts (to the export's
6 decimals). Order: slot descending; within a slot the page's order, then
the export's. ``getSignaturesForAddress`` items are derived from the
transactions at load time (see ``recorded.py``), so they are not stored.

Run ``python -m walletdoctor.helius.emulator.rebuild`` to write the fixture
(``--help`` for paths). Every choice is seeded from the signature: the same
inputs give byte-identical output.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from walletdoctor.helius.emulator import draft, shapes
from walletdoctor.helius.emulator.draft import Header, Leg, derive_address
from walletdoctor.solana import (
    NATIVE_SOL_MINT,
    SOL_DECIMALS,
    USDC_MINT,
    USDT_MINT,
    WELL_KNOWN_SYMBOLS,
)

__all__ = [
    "DEFAULT_EXPORT",
    "DEFAULT_OUT",
    "DEFAULT_PAGE",
    "DEFAULT_SAMPLES",
    "DEX_SOURCES",
    "REAL_WALLET",
    "build_fixture",
    "clean_label",
    "main",
    "write_fixture",
]

REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
#: Export ``dex`` -> Helius ``source``. Photon routes through Raydium (page 1 says
#: RAYDIUM); the export's PumpFun rows with wSOL legs are PumpSwap pools, as all
#: 8 real samples of them show (PUMP_AMM); only native-SOL ones are the curve.
DEX_SOURCES = {"PumpSwap": "PUMP_AMM", "PumpFun": "PUMP_FUN", "Meteora": "METEORA", "Raydium": "RAYDIUM",
               "Photon": "RAYDIUM", "Jupiter": "JUPITER", "Jupiter DCA": "JUPITER", "OKX": "OKX_DEX_ROUTER",
               "BoopFun": "BOOP_FUN", "Orca Whirlpools": "ORCA", "": "UNKNOWN"}
_REPO = Path(__file__).resolve().parents[3]
_SHARED = _REPO.parent / "shared" / "data"
DEFAULT_EXPORT = _SHARED / "exports" / "3JoVBiQE_activity_export.csv"
DEFAULT_PAGE = _SHARED / "helius" / "3JoVBiQE_address_transactions_page1.json"
DEFAULT_SAMPLES = _SHARED / "helius" / "3JoVBiQE_partial_samples.json"
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "3JoVBiQE.json.gz"
_EXPORT_DECIMALS = 6
_U64_MAX = 2**64 - 1
_SWAP_EVENT_SHARE = 0.04
_UNSCALED_WSOL_SHARE = 0.005
_PHOTON_FEE_LAMPORTS = 8_005_000  # network fee of all 4 real Photon swaps
_PHOTON_TIP = 12_000_000
_PRIORITY_FEES = (0, 5_000, 50_000, 100_000, 250_000, 1_000_000)
_TIPS = (0, 0, 1_000_000, 2_000_000, 5_000_000, 12_000_000)


def clean_label(text: str) -> str:
    """A symbol or name without padding: surrounding whitespace and U+3164 (Hangul filler)."""
    return text.strip().strip("\u3164").strip()


def _digest(signature: str, purpose: str) -> bytes:
    return hashlib.blake2b(f"{purpose}:{signature}".encode(), digest_size=8).digest()


def _chance(signature: str, purpose: str) -> float:
    """A uniform number in [0, 1) fixed by the signature and the purpose."""
    return int.from_bytes(_digest(signature, purpose), "big") / 2**64


def _raw(text: str, decimals: int, signature: str) -> int:
    """The raw amount behind an export amount rounded to 6 decimals.

    Amounts whose last three of 6 decimals are zero are taken as exact (a
    trader's round 1.98 SOL); others get deterministic digits beyond the
    6th, less than half a unit of the 6th, so rounding gives the export's.
    """
    raw = int(Decimal(text).scaleb(decimals).to_integral_value())
    spread = 10 ** (decimals - _EXPORT_DECIMALS) // 2 - 1 if decimals > _EXPORT_DECIMALS else 0
    if spread > 0 and not text.endswith("000"):
        raw += int.from_bytes(_digest(signature, text), "big") % (2 * spread + 1) - spread
    if not 0 < raw <= _U64_MAX:
        raise ValueError(f"amount {text} with {decimals} decimals in {signature} is not a u64")
    return raw


class _Export:
    """The export's rows by signature, with what every row needs: decimals, symbols, SOL prices."""

    def __init__(self, rows: list[dict[str, str]], decimals: dict[str, int]) -> None:
        self.by_signature: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            self.by_signature.setdefault(row["tx_hash"], []).append(row)
        self.decimals = decimals
        labels: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        prices: list[tuple[int, Decimal]] = []
        for row in rows:
            for key in ("token0", "token1"):
                mint = self.mint(row[f"{key}_address"])
                if mint:
                    labels[mint][(clean_label(row[f"{key}_symbol"]), clean_label(row[f"{key}_name"]))] += 1
                if mint == NATIVE_SOL_MINT and Decimal(row[f"{key}_price_usd"] or 0) > 0:
                    prices.append((int(row["block"]), Decimal(row[f"{key}_price_usd"])))
            if row["tx_type"] == "transfer" and row["contract_address"] != "native":
                labels[row["contract_address"]][(clean_label(row["symbol"]), clean_label(row["name"]))] += 1
        self.assets = {mint: {"symbol": WELL_KNOWN_SYMBOLS.get(mint, label.most_common(1)[0][0][0]),
                              "name": label.most_common(1)[0][0][1], "decimals": self.decimals_of(mint)}
                       for mint, label in labels.items()}
        prices.sort()
        self._price_slots = [slot for slot, _ in prices]
        self._prices = [price for _, price in prices]

    @staticmethod
    def mint(address: str) -> str:
        return NATIVE_SOL_MINT if address == "native" else address

    def decimals_of(self, mint: str) -> int:
        if mint == NATIVE_SOL_MINT:
            return SOL_DECIMALS
        return self.decimals.get(mint, _EXPORT_DECIMALS)

    def leg(self, address: str, amount: str, signature: str, symbol: str = "") -> Leg:
        mint = self.mint(address)
        decimals = self.decimals_of(mint)
        return Leg(mint, _raw(amount, decimals, signature), decimals, clean_label(symbol))

    def sol_price(self, slot: int) -> Decimal:
        """USD per SOL at the export row nearest to ``slot``."""
        at = min(bisect.bisect_left(self._price_slots, slot), len(self._prices) - 1)
        return self._prices[at]


def _known_decimals(page: list[dict[str, Any]], samples: dict[str, Any] | None) -> dict[str, int]:
    """Decimals the recorded data proves: page balance changes, and fractional digits in the samples."""
    decimals: dict[str, int] = {}
    for tx in page:
        for account in tx["accountData"]:
            for change in account["tokenBalanceChanges"]:
                decimals[change["mint"]] = change["rawTokenAmount"]["decimals"]
    for tx in (samples or {}).get("with_swap_event", []) + (samples or {}).get("without_swap_event", []):
        for transfer in tx["tokenTransfers"]:
            digits = len(repr(transfer["tokenAmount"]).partition(".")[2])
            if digits > _EXPORT_DECIMALS:
                decimals[transfer["mint"]] = max(digits, decimals.get(transfer["mint"], 0))
    return decimals


def _timestamp(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _header(row: dict[str, str], fee_payer: str, fee: int) -> Header:
    return Header(row["tx_hash"], int(row["block"]), _timestamp(row["timestamp"]), fee_payer, fee)


def _swap(export: _Export, row: dict[str, str], new_account: bool) -> tuple[dict[str, Any], bool]:
    """The swap of one export row and whether it carries the unscaled-wSOL quirk."""
    signature, dex = row["tx_hash"], row["dex"]
    gave = export.leg(row["token0_address"], row["token0_amount"], signature, row["token0_symbol"])
    got = export.leg(row["token1_address"], row["token1_amount"], signature, row["token1_symbol"])
    picks = _digest(signature, "choices")
    photon = dex == "Photon"
    fee = _PHOTON_FEE_LAMPORTS if photon else 5000 + _PRIORITY_FEES[picks[0] % len(_PRIORITY_FEES)]
    native = "native" in (row["token0_address"], row["token1_address"])
    against_sol = NATIVE_SOL_MINT in (gave.mint, got.mint)
    unscaled = not native and _chance(signature, "unscaled-wsol") < _UNSCALED_WSOL_SHARE
    usd = Decimal(row["token0_amount_usd"] or 0) or Decimal(row["token1_amount_usd"] or 0)
    spec = shapes.SwapSpec(
        _header(row, REAL_WALLET, fee), gave, got, hop=_hop(export, row, gave, got, usd),
        swap_event=_chance(signature, "swap-event") < _SWAP_EVENT_SHARE, unscaled_wsol=unscaled,
        new_token_account=new_account, photon_fee=photon,
        tip=_PHOTON_TIP if photon else _TIPS[picks[1] % len(_TIPS)])
    source = DEX_SOURCES.get(dex)
    if source is None:
        raise ValueError(f"unknown dex {dex!r} in {signature}")
    if not against_sol:
        return shapes.jupiter_swap(spec, source), unscaled
    if dex == "PumpFun" and not native:
        return shapes.pump_amm_swap(spec, "PUMP_AMM"), unscaled
    builders = {"PumpSwap": shapes.pump_amm_swap, "PumpFun": shapes.pump_fun_swap,
                "Meteora": shapes.meteora_swap, "Raydium": shapes.raydium_swap, "Photon": shapes.raydium_swap,
                "Jupiter": shapes.jupiter_swap, "Jupiter DCA": shapes.jupiter_swap}
    builder = builders.get(dex)
    return (builder(spec, source) if builder else shapes.amm_swap(spec, source)), unscaled


def _hop(export: _Export, row: dict[str, str], gave: Leg, got: Leg, usd: Decimal) -> Leg:
    """The intermediate leg of a routed swap, worth the trade's USD value.

    USDC between SOL and a token (USDT between SOL and USDC), SOL between
    two tokens, at the SOL price of the nearest export row.
    """
    mints = {gave.mint, got.mint}
    if NATIVE_SOL_MINT in mints:
        stable = USDT_MINT if USDC_MINT in mints else USDC_MINT
        return Leg(stable, max(int(usd.scaleb(6)), 1), 6)
    lamports = usd / export.sol_price(int(row["block"])) * 10**SOL_DECIMALS
    return Leg(NATIVE_SOL_MINT, max(int(lamports), 1), SOL_DECIMALS)


def _transfer(export: _Export, rows: list[dict[str, str]]) -> dict[str, Any]:
    """One TRANSFER transaction for all transfer rows of a signature; a sending wallet pays the fee."""
    signature = rows[0]["tx_hash"]
    natives, tokens = [], []
    for row in rows:
        if row["contract_address"] == "native":
            natives.append((row["from"], row["to"], _raw(row["amount"], SOL_DECIMALS, signature)))
        else:
            tokens.append((row["from"], row["to"], export.leg(row["contract_address"], row["amount"],
                                                                signature, row["symbol"])))
    senders = [row["from"] for row in rows]
    payer = REAL_WALLET if REAL_WALLET in senders else senders[0]
    fee = 5000 + _PRIORITY_FEES[_digest(signature, "choices")[0] % 3]
    return draft.transfer_transaction(_header(rows[0], payer, fee), natives, tokens)


def _other(export: _Export, row: dict[str, str]) -> dict[str, Any]:
    """Liquidity, program-call and close-account rows."""
    header = _header(row, REAL_WALLET, 5000 + _PRIORITY_FEES[_digest(row["tx_hash"], "choices")[0] % 4])
    if row["tx_type"] == "lp":
        legs = [export.leg(row[f"{key}_address"], row[f"{key}_amount"], row["tx_hash"])
                for key in ("token0", "token1") if Decimal(row[f"{key}_amount"] or 0) > 0]
        pool = row["from"] if row["from"] not in ("", REAL_WALLET) else \
            derive_address("lp-pool", row["token0_address"], row["token1_address"])
        source = DEX_SOURCES.get(row["dex"], "UNKNOWN")
        return shapes.liquidity_transaction(header, pool, legs, row["type"] == "add", source)
    if row["tx_type"] == "contract_interaction":
        return draft.program_call_transaction(header, row["contract_address"])
    if row["tx_type"] == "close_token_account":
        return draft.close_account_transaction(header, derive_address("closed-token-account", row["tx_hash"]))
    raise ValueError(f"unknown tx_type {row['tx_type']!r} in {row['tx_hash']}")


def build_fixture(export_rows: list[dict[str, str]], page: list[dict[str, Any]],
                  samples: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fixture from the export's rows and the recorded page, as one dict.

    Keys: ``address``, ``transactions`` (newest first), ``assets``, ``quirks``
    (see the module docstring).

    ``samples`` (the partial samples file) only refines token decimals.
    Raises ValueError on a row the rebuild cannot place.
    """
    export = _Export(export_rows, _known_decimals(page, samples))
    recorded = {tx["signature"]: tx for tx in page}
    keys = {tx["signature"]: (-tx["slot"], 0, at) for at, tx in enumerate(page)}
    for at, (signature, rows) in enumerate(export.by_signature.items()):
        keys.setdefault(signature, (-int(rows[0]["block"]), 1, at))
    order = sorted(keys, key=keys.__getitem__)
    bought: set[str] = set()
    first_buys = set()
    for signature in reversed(order):
        row = export.by_signature.get(signature, [{}])[0]
        if signature not in recorded and row.get("tx_type") == "swap":
            mint = export.mint(row["token1_address"])
            if mint != NATIVE_SOL_MINT and mint not in bought:
                bought.add(mint)
                first_buys.add(signature)
    transactions, unscaled = [], []
    for signature in order:
        rows = export.by_signature.get(signature, [])
        if signature in recorded:
            transactions.append(recorded[signature])
        elif rows[0]["tx_type"] == "swap":
            tx, quirk = _swap(export, rows[0], signature in first_buys)
            transactions.append(tx)
            if quirk:
                unscaled.append(signature)
        elif rows[0]["tx_type"] == "transfer":
            transactions.append(_transfer(export, rows))
        else:
            transactions.append(_other(export, rows[0]))
    assets = dict(export.assets)
    assets.setdefault(NATIVE_SOL_MINT, {"symbol": "SOL", "name": "Wrapped SOL", "decimals": SOL_DECIMALS})
    for tx in transactions:
        for transfer in tx["tokenTransfers"]:
            mint = transfer["mint"]
            assets.setdefault(mint, {"symbol": WELL_KNOWN_SYMBOLS.get(mint, ""), "name": "",
                                     "decimals": export.decimals_of(mint)})
    return {"address": REAL_WALLET, "transactions": transactions, "assets": assets,
            "quirks": {"unscaled_wsol": unscaled}}


def write_fixture(fixture: dict[str, Any], out: Path) -> int:
    """Write ``fixture`` in the layout of the module docstring; returns the file's size in bytes.

    The gzip header carries no timestamp, so equal fixtures give equal files.
    """
    header = {"address": fixture["address"], "count": len(fixture["transactions"]),
              "assets": fixture["assets"], "quirks": fixture["quirks"]}
    lines = b"\n".join([orjson.dumps(header), *map(orjson.dumps, fixture["transactions"])]) + b"\n"
    data = gzip.compress(lines, compresslevel=9, mtime=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def _summary(fixture: dict[str, Any], size: int) -> str:
    transactions = fixture["transactions"]
    kinds = Counter(f"{tx['type']}/{tx['source']}" for tx in transactions)
    events = sum(1 for tx in transactions if "swap" in tx["events"])
    lines = [f"{len(transactions)} transactions, {len(fixture['assets'])} assets, {size:,} bytes gzip"]
    lines += [f"  {count:5d}  {kind}" for kind, count in kinds.most_common()]
    lines.append(f"events.swap on {events}; unscaled wSOL quirk on {len(fixture['quirks']['unscaled_wsol'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: rebuild the fixture and print a summary. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m walletdoctor.helius.emulator.rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT, help="activity export CSV")
    parser.add_argument("--page", type=Path, default=DEFAULT_PAGE, help="recorded Helius page (JSON)")
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES,
                        help="partial samples JSON, for token decimals (skipped if missing)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture to write (.json.gz)")
    args = parser.parse_args(argv)
    with args.export.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    page = json.loads(args.page.read_text(encoding="utf-8"))
    samples = json.loads(args.samples.read_text(encoding="utf-8")) if args.samples.is_file() else None
    fixture = build_fixture(rows, page, samples)
    print(_summary(fixture, write_fixture(fixture, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
