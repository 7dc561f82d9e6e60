"""The rebuilt history of the real wallet: complete, ordered, verbatim where recorded, and balanced."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from walletdoctor.helius.emulator import rebuild
from walletdoctor.helius.emulator.draft import inconsistencies
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT

WALLET = rebuild.REAL_WALLET
_MICRO = Decimal("0.000001")


@pytest.fixture(scope="module")
def rows(shared_data_dir: Path) -> list[dict[str, str]]:
    with (shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def page(shared_data_dir: Path) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = json.loads(
        (shared_data_dir / "helius" / "3JoVBiQE_address_transactions_page1.json").read_text())
    return recorded


@pytest.fixture(scope="module")
def fixture(rows: list[dict[str, str]], page: list[dict[str, Any]], shared_data_dir: Path) -> dict[str, Any]:
    samples = json.loads((shared_data_dir / "helius" / "3JoVBiQE_partial_samples.json").read_text())
    return rebuild.build_fixture(rows, page, samples)


@pytest.fixture(scope="module")
def by_signature(fixture: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tx["signature"]: tx for tx in fixture["transactions"]}


@pytest.fixture(scope="module")
def first_rows(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    first: dict[str, dict[str, str]] = {}
    for row in rows:
        first.setdefault(row["tx_hash"], row)
    return first


def test_one_transaction_per_distinct_signature(fixture: dict[str, Any], rows: list[dict[str, str]],
                                                page: list[dict[str, Any]]) -> None:
    signatures = [tx["signature"] for tx in fixture["transactions"]]
    expected = {row["tx_hash"] for row in rows} | {tx["signature"] for tx in page}
    assert len({row["tx_hash"] for row in rows}) == 7424
    assert len(signatures) == len(set(signatures)) == len(expected) == 7439
    assert set(signatures) == expected
    assert fixture["address"] == WALLET


def test_the_recorded_page_is_served_verbatim_and_in_its_order(fixture: dict[str, Any],
                                                               page: list[dict[str, Any]]) -> None:
    served = [tx for tx in fixture["transactions"] if tx["signature"] in {p["signature"] for p in page}]
    assert served == page  # equal dicts, in the page's order (4 of them share slot 349787189)
    assert orjson.loads(orjson.dumps(served)) == page


def test_newest_first(fixture: dict[str, Any]) -> None:
    slots = [tx["slot"] for tx in fixture["transactions"]]
    times = [tx["timestamp"] for tx in fixture["transactions"]]
    assert slots == sorted(slots, reverse=True)
    assert times == sorted(times, reverse=True)


def test_slot_and_time_come_from_the_export(by_signature: dict[str, dict[str, Any]],
                                            first_rows: dict[str, dict[str, str]]) -> None:
    row = next(iter(first_rows.values()))
    tx = by_signature[row["tx_hash"]]
    assert tx["slot"] == int(row["block"])
    assert tx["timestamp"] == 1751126222  # 2025-06-28T15:57:02Z, the export's first row


def test_every_rebuilt_transaction_balances(fixture: dict[str, Any], page: list[dict[str, Any]]) -> None:
    """accountData agrees with the transfers: wallet native delta, token deltas, every account."""
    recorded = {tx["signature"] for tx in page}
    quirky = set(fixture["quirks"]["unscaled_wsol"])
    problems = {tx["signature"]: inconsistencies(tx, tx["signature"] in quirky)
                for tx in fixture["transactions"] if tx["signature"] not in recorded}
    assert {signature: found for signature, found in problems.items() if found} == {}


def _round(value: Decimal) -> Decimal:
    return value.quantize(_MICRO, rounding=ROUND_HALF_EVEN)


def test_every_swap_moves_the_export_amounts(by_signature: dict[str, dict[str, Any]],
                                             first_rows: dict[str, dict[str, str]]) -> None:
    """Token side from the wallet's own balance changes; SOL side from its SOL or wSOL legs."""
    mismatches = {}
    for signature, row in first_rows.items():
        if row["tx_type"] != "swap":
            continue
        tx = by_signature[signature]
        changes = {c["mint"]: Decimal(c["rawTokenAmount"]["tokenAmount"]).scaleb(-c["rawTokenAmount"]["decimals"])
                   for a in tx["accountData"] for c in a["tokenBalanceChanges"] if c["userAccount"] == WALLET}
        sol_legs = [Decimal(t["amount"]).scaleb(-9) for t in tx["nativeTransfers"]
                    if WALLET in (t["fromUserAccount"], t["toUserAccount"])]
        wsol = [(t, Decimal(repr(t["tokenAmount"]))) for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
        if signature in _quirky(tx):
            wsol = [(t, amount.scaleb(-9)) for t, amount in wsol]
        sol_legs += [amount for t, amount in wsol if WALLET in (t["fromUserAccount"], t["toUserAccount"])]
        sol_legs.append(sum((amount for t, amount in wsol if t["fromUserAccount"] == WALLET), Decimal(0)))
        for key, sign in (("token0", -1), ("token1", 1)):
            amount = Decimal(row[f"{key}_amount"])
            if row[f"{key}_address"] in ("native", NATIVE_SOL_MINT):
                ok = amount in {_round(leg) for leg in sol_legs}
            else:
                ok = _round(changes.get(row[f"{key}_address"], Decimal(0))) == sign * amount
            if not ok:
                mismatches[signature] = (key, amount)
    assert mismatches == {}


def _quirky(tx: dict[str, Any]) -> set[str]:
    """The transaction's signature when its wSOL amounts are unscaled (whole raw lamports, huge)."""
    wsol = [t["tokenAmount"] for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
    return {tx["signature"]} if wsol and all(type(a) is int and a >= 10**5 for a in wsol) else set()


def test_sources_follow_the_export_dex(by_signature: dict[str, dict[str, Any]],
                                       first_rows: dict[str, dict[str, str]]) -> None:
    seen: Counter[tuple[str, bool, str]] = Counter()
    for signature, row in first_rows.items():
        if row["tx_type"] == "swap":
            native = "native" in (row["token0_address"], row["token1_address"])
            seen[(row["dex"], native, by_signature[signature]["source"])] += 1
    assert seen[("PumpFun", True, "PUMP_FUN")] == 39
    assert seen[("PumpFun", False, "PUMP_AMM")] == 872  # as every real sample of those rows shows
    assert seen[("PumpSwap", False, "PUMP_AMM")] == 1458
    assert seen[("Photon", False, "RAYDIUM")] == 29
    assert seen[("Meteora", False, "METEORA")] == 3366
    assert {source for (_, _, source) in seen} <= set(rebuild.DEX_SOURCES.values()) | {"PUMP_AMM"}
    assert all(by_signature[s]["type"] == "SWAP" for s, row in first_rows.items() if row["tx_type"] == "swap")


def test_other_activity_has_its_own_types_and_never_swaps(by_signature: dict[str, dict[str, Any]],
                                                          rows: list[dict[str, str]],
                                                          page: list[dict[str, Any]]) -> None:
    recorded = {tx["signature"] for tx in page}
    kinds: dict[str, set[str]] = {}
    transfers_per_signature = Counter(row["tx_hash"] for row in rows if row["tx_type"] == "transfer")
    for row in rows:
        tx = by_signature[row["tx_hash"]]
        kinds.setdefault(row["tx_type"] + row["type"], set()).add(tx["type"])
        if row["tx_type"] == "swap":
            continue
        wallet_changes = [int(c["rawTokenAmount"]["tokenAmount"]) for a in tx["accountData"]
                          for c in a["tokenBalanceChanges"] if c["userAccount"] == WALLET]
        assert not (any(v < 0 for v in wallet_changes) and any(v > 0 for v in wallet_changes)), row["tx_hash"]
        if row["tx_type"] == "transfer" and row["tx_hash"] not in recorded:
            assert len(tx["nativeTransfers"]) + len(tx["tokenTransfers"]) == transfers_per_signature[row["tx_hash"]]
    assert kinds["lpadd"] == {"ADD_LIQUIDITY"} and kinds["lpremove"] == {"WITHDRAW_LIQUIDITY"}
    assert kinds["contract_interaction"] == {"UNKNOWN"}
    assert kinds["close_token_account"] == {"CLOSE_ACCOUNT"}
    assert kinds["transferERC20"] == {"TRANSFER"}


def test_events_swap_on_a_small_minority_of_swaps(fixture: dict[str, Any]) -> None:
    swaps = [tx for tx in fixture["transactions"] if tx["type"] == "SWAP"]
    share = sum(1 for tx in swaps if "swap" in tx["events"]) / len(swaps)
    assert 0.02 < share < 0.06


def test_unscaled_wsol_quirk_is_rare_and_recorded(fixture: dict[str, Any],
                                                  by_signature: dict[str, dict[str, Any]]) -> None:
    quirky = fixture["quirks"]["unscaled_wsol"]
    assert 0.002 < len(quirky) / 6483 < 0.01
    assert {s for tx in fixture["transactions"] for s in _quirky(tx)} == set(quirky)
    for signature in quirky:
        tx = by_signature[signature]
        assert inconsistencies(tx) != [] and inconsistencies(tx, unscaled_wsol=True) == []


def test_assets_carry_clean_labels_and_known_decimals(fixture: dict[str, Any]) -> None:
    assets = fixture["assets"]
    assert assets[NATIVE_SOL_MINT] == {"symbol": "SOL", "name": "Wrapped SOL", "decimals": 9}
    assert assets[USDC_MINT]["symbol"] == "USDC" and assets[USDC_MINT]["decimals"] == 6
    assert assets["2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"]["symbol"] == "lub"
    assert assets["4Uf883orBx89VQZiV4EoRpNqUWYN5ZuEvC4PCpQ9moon"]["decimals"] == 9  # 556570.298577047 in a sample
    for mint, asset in assets.items():
        for label in (asset["symbol"], asset["name"]):
            assert label == label.strip() and not label.endswith("\u3164"), (mint, label)
    minted = {t["mint"] for tx in fixture["transactions"] for t in tx["tokenTransfers"]}
    assert minted <= assets.keys()


@pytest.mark.parametrize(("raw", "clean"), [("MOG/ACC ", "MOG/ACC"), ("NOODLE\u3164", "NOODLE"),
                                            ("CreatorBuddy\u3000", "CreatorBuddy"), ("lub", "lub")])
def test_clean_label(raw: str, clean: str) -> None:
    assert rebuild.clean_label(raw) == clean


def test_the_command_rebuilds_the_shipped_fixture_byte_for_byte(tmp_path: Path, shared_data_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Same inputs, same bytes: the fixture is deterministic and up to date with the code."""
    out = tmp_path / "wallet.json.gz"
    assert rebuild.main(["--export", str(shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv"),
                         "--page", str(shared_data_dir / "helius" / "3JoVBiQE_address_transactions_page1.json"),
                         "--out", str(out)]) == 0
    shipped = resources.files("walletdoctor.helius.emulator").joinpath("data/3JoVBiQE.json.gz").read_bytes()
    assert out.read_bytes() == shipped
    summary = capsys.readouterr().out
    assert summary.startswith("7439 transactions") and "SWAP/METEORA" in summary and "events.swap on" in summary
    header = orjson.loads(gzip.decompress(shipped).split(b"\n", 1)[0])
    assert header["count"] == 7439 and header["address"] == WALLET


def test_default_paths_point_at_shared_data_and_package_data(shared_data_dir: Path) -> None:
    assert rebuild.DEFAULT_EXPORT.resolve() == (shared_data_dir / "exports" / "3JoVBiQE_activity_export.csv").resolve()
    assert rebuild.DEFAULT_OUT.parent.name == "data" and rebuild.DEFAULT_OUT.name == "3JoVBiQE.json.gz"
