"""Helius-shaped transactions: every DEX style moves exactly the swap legs, and its books balance."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from walletdoctor.helius.emulator import shapes
from walletdoctor.helius.emulator.draft import (
    Header,
    Leg,
    b58encode,
    close_account_transaction,
    derive_address,
    inconsistencies,
    program_call_transaction,
    transfer_transaction,
)
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
LUB = "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon"
SIGNATURE = b58encode(bytes(range(64)))
SOL_LEG = Leg(NATIVE_SOL_MINT, 1_978_025_920, 9)
TOKEN_LEG = Leg(LUB, 561_218_676_075, 6, "lub")
USDC_HOP = Leg(USDC_MINT, 11_493_485, 6)

BUILDERS = {
    "PUMP_AMM": shapes.pump_amm_swap,
    "PUMP_FUN": shapes.pump_fun_swap,
    "METEORA": shapes.meteora_swap,
    "RAYDIUM": shapes.raydium_swap,
    "JUPITER": shapes.jupiter_swap,
    "ORCA": lambda spec: shapes.amm_swap(spec, "ORCA"),
}


def _spec(buys: bool, **options: Any) -> shapes.SwapSpec:
    header = Header(options.pop("signature", SIGNATURE), 349_000_000, 1_751_000_000, WALLET, 105_000)
    gave, got = (SOL_LEG, TOKEN_LEG) if buys else (TOKEN_LEG, SOL_LEG)
    return shapes.SwapSpec(header, gave, got, hop=options.pop("hop", USDC_HOP), **options)


def wallet_flows(tx: dict[str, Any]) -> dict[str, Decimal]:
    """Net UI amount per asset for the wallet and its own token accounts, SOL and wSOL as one.

    Only transfers with a counterparty outside the wallet count: wraps,
    unwraps and rent into its own accounts are internal.
    """
    own = {WALLET} | {t["toTokenAccount"] for t in tx["tokenTransfers"] if t["toUserAccount"] == WALLET} | {
        t["fromTokenAccount"] for t in tx["tokenTransfers"] if t["fromUserAccount"] == WALLET}
    flows: dict[str, Decimal] = defaultdict(Decimal)
    for t in tx["nativeTransfers"]:
        inside, outside = t["toUserAccount"] in own, t["fromUserAccount"] in own
        if inside != outside:
            flows[NATIVE_SOL_MINT] += Decimal(t["amount"]).scaleb(-9) * (1 if inside else -1)
    for t in tx["tokenTransfers"]:
        inside, outside = t["toUserAccount"] == WALLET, t["fromUserAccount"] == WALLET
        if inside != outside:
            flows[t["mint"]] += Decimal(repr(t["tokenAmount"])) * (1 if inside else -1)
    return dict(flows)


def _swap_legs(tx: dict[str, Any], spec: shapes.SwapSpec, fees: Decimal = Decimal(0)) -> None:
    flows = wallet_flows(tx)
    gave = Decimal(spec.gave.raw).scaleb(-spec.gave.decimals)
    got = Decimal(spec.got.raw).scaleb(-spec.got.decimals)
    assert flows.pop(spec.gave.mint) == -gave - (fees if spec.gave.mint == NATIVE_SOL_MINT else 0)
    assert flows.pop(spec.got.mint) == got - (fees if spec.got.mint == NATIVE_SOL_MINT else 0)
    assert all(value == 0 for value in flows.values()), flows


@pytest.mark.parametrize("buys", [True, False], ids=["buy", "sell"])
@pytest.mark.parametrize("source", BUILDERS)
def test_every_style_books_balance_and_moves_the_swap_legs(source: str, buys: bool) -> None:
    spec = _spec(buys, new_token_account=buys)
    tx = BUILDERS[source](spec)
    assert inconsistencies(tx) == []
    assert (tx["type"], tx["source"], tx["transactionError"], tx["events"]) == ("SWAP", source, None, {})
    wallet = next(a for a in tx["accountData"] if a["account"] == WALLET)
    native_in = sum(t["amount"] for t in tx["nativeTransfers"] if t["toUserAccount"] == WALLET)
    native_out = sum(t["amount"] for t in tx["nativeTransfers"] if t["fromUserAccount"] == WALLET)
    assert wallet["nativeBalanceChange"] == native_in - native_out - tx["fee"]
    # What a buyer pays beside the pool leg; a seller's fees come out of the pool's side.
    fees = {"PUMP_AMM": 2 * (SOL_LEG.raw * 499 // 1_000_000), "PUMP_FUN": SOL_LEG.raw * 95 // 10_000 + SOL_LEG.raw * 5 // 10_000}.get(source, 0)
    _swap_legs(tx, spec, Decimal(fees if buys else 0).scaleb(-9))


def test_pump_amm_buy_pays_two_small_fee_legs_beside_the_pool_leg() -> None:
    """The real buy 5k9gGESAP5...: 1.97802592 wSOL to the pool, 2 x 0.000987039 to fee accounts."""
    tx = shapes.pump_amm_swap(_spec(True))
    wsol = [t for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
    assert [t["fromUserAccount"] for t in wsol] == [WALLET] * 3
    pool_leg, *fee_legs = wsol
    assert pool_leg["tokenAmount"] == 1.97802592
    assert pool_leg["toUserAccount"] == next(t["fromUserAccount"] for t in tx["tokenTransfers"] if t["mint"] == LUB)
    assert all(abs(t["tokenAmount"] - 0.000987039) < 0.00001 for t in fee_legs)
    assert len({t["toUserAccount"] for t in fee_legs} | {pool_leg["toUserAccount"]}) == 3


def test_pump_amm_sell_fee_legs_come_from_the_pool() -> None:
    tx = shapes.pump_amm_swap(_spec(False))
    wsol = [t for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
    assert len({t["fromUserAccount"] for t in wsol}) == 1
    assert [t["toUserAccount"] == WALLET for t in wsol] == [True, False, False]
    flows = wallet_flows(tx)
    assert flows == {LUB: Decimal("-561218.676075"), NATIVE_SOL_MINT: Decimal("1.97802592")}


@pytest.mark.parametrize("buys", [True, False], ids=["buy", "sell"])
def test_pump_fun_curve_moves_native_sol_only(buys: bool) -> None:
    tx = shapes.pump_fun_swap(_spec(buys))
    assert all(t["mint"] == LUB for t in tx["tokenTransfers"])
    curve = tx["tokenTransfers"][0]["fromUserAccount" if buys else "toUserAccount"]
    legs = [t["amount"] for t in tx["nativeTransfers"] if {t["fromUserAccount"], t["toUserAccount"]} == {WALLET, curve}]
    assert legs == [SOL_LEG.raw]
    fees = [t["amount"] for t in tx["nativeTransfers"] if curve not in (t["toUserAccount"],) and t["amount"] != SOL_LEG.raw]
    assert sum(fees) == SOL_LEG.raw * 95 // 10_000 + SOL_LEG.raw * 5 // 10_000


def _dynamic_mint() -> str:
    """A mint whose Meteora pool is a dynamic (DAMM) one: those split the given leg."""
    for k in range(100):
        mint = derive_address("test-mint", str(k))
        tx = shapes.meteora_swap(shapes.SwapSpec(Header(SIGNATURE, 1, 1, WALLET), SOL_LEG, Leg(mint, 10**9, 6)))
        if len(tx["tokenTransfers"]) > 3:
            return mint
    raise AssertionError("no dynamic pool among 100 mints")


@pytest.mark.parametrize("buys", [True, False], ids=["buy", "sell"])
def test_meteora_dynamic_pool_splits_the_given_leg_and_the_sum_is_the_swap(buys: bool) -> None:
    """Like the real 5bmMy2... (0.0693 + 34.5807 wSOL = the export's 34.65) and 2oywWG3d...."""
    token = Leg(_dynamic_mint(), 556_570_298_577, 6)
    sol = Leg(NATIVE_SOL_MINT, 34_650_000_000, 9)
    spec = shapes.SwapSpec(Header(SIGNATURE, 1, 1, WALLET), sol if buys else token, token if buys else sol)
    tx = shapes.meteora_swap(spec)
    given = [t for t in tx["tokenTransfers"] if t["fromUserAccount"] == WALLET]
    assert len(given) == 2
    small, main = sorted(given, key=lambda t: t["tokenAmount"])
    assert Decimal(repr(small["tokenAmount"])) / Decimal(repr(main["tokenAmount"])) == pytest.approx(Decimal("0.002"), rel=Decimal("0.01"))
    source = next(t for t in tx["tokenTransfers"] if t["toUserAccount"] == WALLET)["fromUserAccount"]
    assert source not in {small["toUserAccount"], main["toUserAccount"]}  # each vault has its own owner
    assert any(t["fromUserAccount"] == "" for t in tx["tokenTransfers"])  # vault LP minted to the pool
    assert any(t["toUserAccount"] == "" for t in tx["tokenTransfers"])  # and burnt from it
    _swap_legs(tx, spec)
    assert inconsistencies(tx) == []


def test_raydium_photon_sell_matches_the_real_5g5rkbqii8() -> None:
    """Same legs, fee, tip and Photon fee as the recorded swap give its exact wallet balance change."""
    spec = shapes.SwapSpec(Header(SIGNATURE, 1, 1, WALLET, 8_005_000), Leg(LUB, 1_986_656_546_333, 6),
                           Leg(NATIVE_SOL_MINT, 77_849_895, 9), hop=USDC_HOP, swap_event=True,
                           tip=12_000_000, photon_fee=True)
    tx = shapes.raydium_swap(spec)
    wallet = next(a for a in tx["accountData"] if a["account"] == WALLET)
    assert wallet["nativeBalanceChange"] == 57_066_397
    assert sorted(t["amount"] for t in tx["nativeTransfers"]) == [778_498, 12_000_000, 77_849_895]
    assert [t["mint"] for t in tx["tokenTransfers"]] == [LUB, USDC_MINT, USDC_MINT, NATIVE_SOL_MINT]
    # Helius' own event shows only the USDC -> SOL hop: the trap of the data README.
    event = tx["events"]["swap"]
    assert event["nativeOutput"] == {"account": WALLET, "amount": "77849895"}
    assert [c["mint"] for c in event["tokenInputs"]] == [USDC_MINT]
    assert tx["description"] == f"{WALLET} swapped 11.493485 USDC for 0.077849895 SOL"
    assert wallet_flows(tx) == {LUB: Decimal("-1986656.546333"), USDC_MINT: 0,
                                NATIVE_SOL_MINT: Decimal("0.077849895") - Decimal("0.012778498")}


def test_raydium_buy_wraps_into_a_fresh_account_and_pays_photon_one_percent_of_gross() -> None:
    spec = _spec(True, photon_fee=True, tip=12_000_000)
    tx = shapes.raydium_swap(spec)
    photon = [t["amount"] for t in tx["nativeTransfers"] if t["toUserAccount"].startswith("AVUCZy")]
    assert photon == [SOL_LEG.raw // 99]
    wrap = tx["nativeTransfers"][0]
    assert (wrap["fromUserAccount"], wrap["amount"]) == (WALLET, SOL_LEG.raw)
    assert inconsistencies(tx) == []


def test_jupiter_routes_token_to_token_through_an_intermediate_held_by_the_router() -> None:
    gork = derive_address("test-mint", "gork")
    spec = shapes.SwapSpec(Header(SIGNATURE, 1, 1, WALLET), Leg(USDC_MINT, 25_000_000_000, 6),
                           Leg(gork, 429_387_409_765, 6), hop=Leg(NATIVE_SOL_MINT, 160_000_000_000, 9),
                           swap_event=True)
    tx = shapes.jupiter_swap(spec)
    assert wallet_flows(tx) == {USDC_MINT: Decimal(-25000), gork: Decimal("429387.409765")}
    hops = [t for t in tx["tokenTransfers"] if t["mint"] == NATIVE_SOL_MINT]
    assert len(hops) == 2 and WALLET not in {h["fromUserAccount"] for h in hops} | {h["toUserAccount"] for h in hops}
    event = tx["events"]["swap"]
    assert len(event["innerSwaps"]) == 2
    assert event["tokenInputs"][0]["rawTokenAmount"] == {"tokenAmount": "25000000000", "decimals": 6}
    assert inconsistencies(tx) == []


def test_jupiter_without_a_hop_is_refused() -> None:
    with pytest.raises(ValueError, match="intermediate"):
        shapes.jupiter_swap(_spec(True, hop=None))


def test_failed_swap_charges_the_fee_and_moves_nothing() -> None:
    tx = shapes.pump_amm_swap(_spec(True, failed=True, swap_event=True))
    assert tx["transactionError"] == {"error": "Error processing Instruction 3: custom program error: 0x1771"}
    assert (tx["tokenTransfers"], tx["nativeTransfers"], tx["events"], tx["description"]) == ([], [], {}, "")
    changes = {a["account"]: a["nativeBalanceChange"] for a in tx["accountData"] if a["nativeBalanceChange"]}
    assert changes == {WALLET: -tx["fee"]}
    assert inconsistencies(tx) == []


def test_unscaled_wsol_quirk_sends_raw_lamports_but_keeps_balance_changes_right() -> None:
    clean = shapes.meteora_swap(_spec(True))
    quirky = shapes.meteora_swap(_spec(True, unscaled_wsol=True))
    for a, b in zip(clean["tokenTransfers"], quirky["tokenTransfers"]):
        if a["mint"] == NATIVE_SOL_MINT:
            assert b["tokenAmount"] == int(Decimal(repr(a["tokenAmount"])).scaleb(9))
        else:
            assert a == b
    assert quirky["accountData"] == clean["accountData"]
    assert inconsistencies(quirky, unscaled_wsol=True) == []
    assert inconsistencies(quirky) != []


def test_swap_event_describes_the_wallet_legs() -> None:
    tx = shapes.pump_amm_swap(_spec(True, swap_event=True))
    event = tx["events"]["swap"]
    assert event["nativeInput"] == {"account": WALLET, "amount": str(SOL_LEG.raw)}
    assert event["tokenOutputs"][0]["rawTokenAmount"] == {"tokenAmount": str(TOKEN_LEG.raw), "decimals": 6}
    assert event["nativeOutput"] is None and event["tokenInputs"] == []
    assert tx["description"] == f"{WALLET} swapped 1.97802592 SOL for 561218.676075 lub"


def test_whole_ui_amounts_are_sent_without_a_fraction() -> None:
    tx = shapes.amm_swap(shapes.SwapSpec(Header(SIGNATURE, 1, 1, WALLET), Leg(NATIVE_SOL_MINT, 2 * 10**9, 9),
                                         Leg(LUB, 5 * 10**6, 6)), "ORCA")
    amounts = [t["tokenAmount"] for t in tx["tokenTransfers"]]
    assert amounts == [2, 5] and all(type(a) is int for a in amounts)


def test_liquidity_deposit_and_withdrawal_never_read_as_a_swap() -> None:
    pool = derive_address("test-pool")
    legs = [TOKEN_LEG, SOL_LEG]
    added = shapes.liquidity_transaction(Header(SIGNATURE, 1, 1, WALLET), pool, legs, True, "METEORA")
    removed = shapes.liquidity_transaction(Header(SIGNATURE, 1, 1, WALLET), pool, legs, False, "METEORA")
    assert (added["type"], removed["type"]) == ("ADD_LIQUIDITY", "WITHDRAW_LIQUIDITY")
    assert all(v < 0 for v in wallet_flows(added).values())
    assert all(v > 0 for v in wallet_flows(removed).values())
    assert inconsistencies(added) == inconsistencies(removed) == []


def test_transfer_descriptions_follow_helius_wording() -> None:
    other = derive_address("test-sender")
    one = transfer_transaction(Header(SIGNATURE, 1, 1, other), [(other, WALLET, 10_000)], [])
    assert one["description"] == f"{other} transferred 0.00001 SOL to {WALLET}."
    assert (one["type"], one["source"], one["feePayer"]) == ("TRANSFER", "SYSTEM_PROGRAM", other)
    many = transfer_transaction(Header(SIGNATURE, 1, 1, other), [(other, WALLET, 1), (other, LUB, 2)], [])
    assert many["description"] == f"{other} transferred a total 0.000000003 SOL to multiple accounts."
    spl = transfer_transaction(Header(SIGNATURE, 1, 1, other), [], [(other, WALLET, TOKEN_LEG)])
    assert spl["source"] == "SOLANA_PROGRAM_LIBRARY"
    assert spl["description"] == f"{other} transferred 561218.676075 lub to {WALLET}."
    assert all(inconsistencies(tx) == [] for tx in (one, many, spl))


def test_close_account_and_program_call() -> None:
    account = derive_address("test-account")
    closed = close_account_transaction(Header(SIGNATURE, 1, 1, WALLET), account)
    assert closed["type"] == "CLOSE_ACCOUNT"
    assert closed["nativeTransfers"] == [{"fromUserAccount": account, "toUserAccount": WALLET, "amount": 2_039_280}]
    call = program_call_transaction(Header(SIGNATURE, 1, 1, WALLET), "ComputeBudget111111111111111111111111111111")
    assert (call["type"], call["tokenTransfers"], call["nativeTransfers"]) == ("UNKNOWN", [], [])
    assert inconsistencies(closed) == inconsistencies(call) == []


def test_same_spec_same_transaction() -> None:
    assert shapes.raydium_swap(_spec(True, swap_event=True)) == shapes.raydium_swap(_spec(True, swap_event=True))


@given(st.binary(max_size=80))
def test_b58encode_agrees_with_the_base58_package(data: bytes) -> None:
    assert b58encode(data) == base58.b58encode(data).decode()


def test_derived_addresses_are_stable_32_byte_keys() -> None:
    address = derive_address("pool", LUB)
    assert address == derive_address("pool", LUB) != derive_address("pool", USDC_MINT)
    assert len(base58.b58decode(address)) == 32
