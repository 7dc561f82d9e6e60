"""Trade extraction on crafted Helius enhanced transactions, one rule per test."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.analytics.trade import Side
from walletdoctor.solana import NATIVE_SOL_MINT, USDC_MINT

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
TOKEN = "B91Nyc6SnWqr5DRR34eEMKuZrWh4zBhW9VhX4UNLpump"
POOL = "FYkuC1aeHV5ZiaUh6wF7zuuvc3B5heHzwuerXLWwMU88"
OTHER_POOL = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
FEE_ACCOUNT = "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ"
TIP_ACCOUNT = "nEXTBLockYgngeRmRrjDV31mGSekVPqZoMGhQEZtPVG"
FRIEND = "EMPF9BuzXNVh6CUimU7AU5nWasCcDtBYN3eMuZxYtYUn"


def _account(owner: str, mint: str) -> str:
    """A readable stand-in for the token account of ``owner`` holding ``mint``."""
    return f"{owner[:6]}-{mint[:6]}-ata"


def _tt(source: str, target: str, amount: float, mint: str) -> dict[str, Any]:
    return {
        "fromUserAccount": source,
        "toUserAccount": target,
        "fromTokenAccount": _account(source, mint),
        "toTokenAccount": _account(target, mint),
        "tokenAmount": amount,
        "mint": mint,
        "tokenStandard": "Fungible",
    }


def _nt(source: str, target: str, lamports: int) -> dict[str, Any]:
    return {"fromUserAccount": source, "toUserAccount": target, "amount": lamports}


def _tx(token: list[dict[str, Any]], native: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "signature": "5k9gGESAP5rFRBgdxNwSFw1f83o8JKaKBo9DHDs4XCdCSF9FcZFHN9uaxBKhAVANZgB8WiEim8bq7jHXfDqsgRsY",
        "slot": 347747185,
        "timestamp": 1750000000,
        "type": "SWAP",
        "source": "PUMP_AMM",
        "fee": 5000,
        "feePayer": WALLET,
        "transactionError": None,
        "description": "",
        "tokenTransfers": token,
        "nativeTransfers": native or [],
        "accountData": [],
        "events": {},
    }
    base.update(fields)
    return base


def _buy() -> dict[str, Any]:
    """A PUMP_AMM-shaped buy: 1.5 wSOL to the pool, two fee legs, a tip."""
    return _tx(
        [
            _tt(POOL, WALLET, 1000.5, TOKEN),
            _tt(WALLET, POOL, 1.5, NATIVE_SOL_MINT),
            _tt(WALLET, FEE_ACCOUNT, 0.00075, NATIVE_SOL_MINT),
            _tt(WALLET, FRIEND, 0.00075, NATIVE_SOL_MINT),
        ],
        [_nt(WALLET, TIP_ACCOUNT, 1_000_000), _nt(WALLET, _account(WALLET, NATIVE_SOL_MINT), 1_501_500_000)],
    )


def test_buy_reports_the_pool_leg_and_gathers_fees() -> None:
    trade = extract_trade(_buy(), WALLET)

    assert trade is not None
    assert (trade.token_in_mint, trade.amount_in) == (NATIVE_SOL_MINT, Decimal("1.5"))
    assert (trade.token_out_mint, trade.amount_out) == (TOKEN, Decimal("1000.5"))
    # network fee 5000 lamports + two 0.00075 wSOL fee legs + a 0.001 SOL tip;
    # the wrap into the wallet's own wSOL account is internal
    assert trade.fee_sol == Decimal("0.002505")
    assert trade.side is Side.BUY
    assert (trade.slot, trade.source, trade.token_in, trade.token_out) == (347747185, "PUMP_AMM", "SOL", None)


def test_network_fee_counts_only_when_the_wallet_paid_it() -> None:
    trade = extract_trade(_tx(_buy()["tokenTransfers"], feePayer=FRIEND), WALLET)

    assert trade is not None
    assert trade.fee_sol == Decimal("0.0015")


def test_failed_transaction_is_no_trade() -> None:
    assert extract_trade(_tx(_buy()["tokenTransfers"], transactionError={"error": "0x1771"}), WALLET) is None


def test_transfers_and_dust_are_no_trade() -> None:
    sol_out = _tx([], [_nt(WALLET, FRIEND, 250_000_000)], type="TRANSFER", source="SYSTEM_PROGRAM")
    dust_in = _tx([], [_nt(FRIEND, WALLET, 1), _nt(FRIEND, POOL, 1)], type="TRANSFER", feePayer=FRIEND)
    token_in = _tx([_tt(FRIEND, WALLET, 741.905148, TOKEN)], [_nt(FRIEND, _account(WALLET, TOKEN), 2039280)])
    token_out = _tx([_tt(WALLET, FRIEND, 12.5, TOKEN)])
    for transaction in (sol_out, dust_in, token_in, token_out):
        assert extract_trade(transaction, WALLET) is None


def test_unwrapping_own_wsol_is_internal() -> None:
    own_wsol = _account(WALLET, NATIVE_SOL_MINT)
    unwrap = _tx(
        [_tt(WALLET, WALLET, 0.5, NATIVE_SOL_MINT)],
        [_nt(own_wsol, WALLET, 500_000_000), _nt(own_wsol, WALLET, 2_039_280)],
        type="CLOSE_ACCOUNT",
    )
    assert extract_trade(unwrap, WALLET) is None


def test_liquidity_operations_are_no_trade() -> None:
    both_in = _tx(
        [_tt(WALLET, POOL, 3.0, NATIVE_SOL_MINT), _tt(WALLET, POOL, 900.0, TOKEN), _tt(POOL, WALLET, 50.0, USDC_MINT)]
    )
    assert extract_trade(both_in, WALLET) is None
    one_sided = _tx([_tt(WALLET, POOL, 3.0, NATIVE_SOL_MINT), _tt(POOL, WALLET, 50.0, USDC_MINT)], type="ADD_LIQUIDITY")
    assert extract_trade(one_sided, WALLET) is None


def test_token_to_token_route_nets_the_sol_hop() -> None:
    route = _tx(
        [
            _tt(WALLET, POOL, 1000.0, TOKEN),
            _tt(POOL, WALLET, 2.25, NATIVE_SOL_MINT),
            _tt(WALLET, OTHER_POOL, 2.25, NATIVE_SOL_MINT),
            _tt(OTHER_POOL, WALLET, 321.654321, USDC_MINT),
        ],
        [_nt(WALLET, TIP_ACCOUNT, 10_000)],
        source="JUPITER",
    )

    trade = extract_trade(route, WALLET)

    assert trade is not None
    assert (trade.token_in_mint, trade.amount_in, trade.token_out_mint, trade.amount_out) == (
        TOKEN,
        Decimal("1000"),
        USDC_MINT,
        Decimal("321.654321"),
    )
    assert trade.side is Side.SELL
    assert trade.fee_sol == Decimal("0.000015")


def test_a_raw_unit_left_by_a_hop_is_still_a_hop() -> None:
    route = _tx(
        [
            _tt(WALLET, POOL, 1000.0, TOKEN),
            _tt(POOL, WALLET, 11.493485, USDC_MINT),
            _tt(WALLET, OTHER_POOL, 11.493484, USDC_MINT),
            _tt(OTHER_POOL, WALLET, 0.077849895, NATIVE_SOL_MINT),
        ]
    )
    trade = extract_trade(route, WALLET)
    assert trade is not None
    assert (trade.token_in_mint, trade.token_out_mint) == (TOKEN, NATIVE_SOL_MINT)


def test_vault_legs_are_summed_when_none_reaches_a_counterparty() -> None:
    """METEORA-shaped: the SOL goes to two vaults, the token comes from a third."""
    vaults = _tx(
        [
            _tt(WALLET, OTHER_POOL, 0.0693, NATIVE_SOL_MINT),
            _tt(WALLET, FEE_ACCOUNT, 34.5807, NATIVE_SOL_MINT),
            _tt(POOL, WALLET, 556570.298577047, TOKEN),
        ],
        [_nt(WALLET, TIP_ACCOUNT, 1_000_000)],
        source="METEORA",
    )
    trade = extract_trade(vaults, WALLET)
    assert trade is not None
    assert trade.amount_in == Decimal("34.65")
    assert trade.fee_sol == Decimal("0.001005")


def test_unscaled_wsol_is_rescaled_from_account_data() -> None:
    sell = _tx(
        [_tt(WALLET, POOL, 1000.0, TOKEN), _tt(POOL, WALLET, 2201676608.0, NATIVE_SOL_MINT)],
        accountData=[
            {
                "account": _account(POOL, NATIVE_SOL_MINT),
                "nativeBalanceChange": -2201676608,
                "tokenBalanceChanges": [
                    {
                        "userAccount": POOL,
                        "tokenAccount": _account(POOL, NATIVE_SOL_MINT),
                        "mint": NATIVE_SOL_MINT,
                        "rawTokenAmount": {"tokenAmount": "-2201676608", "decimals": 9},
                    }
                ],
            }
        ],
    )
    trade = extract_trade(sell, WALLET)
    assert trade is not None
    assert trade.amount_out == Decimal("2.201676608")


def test_unscaled_wsol_without_evidence_is_rescaled_when_implausibly_large() -> None:
    trade = extract_trade(
        _tx([_tt(WALLET, POOL, 1000.0, TOKEN), _tt(POOL, WALLET, 7049972053, NATIVE_SOL_MINT)]), WALLET
    )
    assert trade is not None
    assert trade.amount_out == Decimal("7.049972053")


def test_whole_scaled_wsol_stays_scaled_when_account_data_confirms_it() -> None:
    buy = _tx(
        [_tt(POOL, WALLET, 1000.0, TOKEN), _tt(WALLET, POOL, 2.0, NATIVE_SOL_MINT)],
        accountData=[
            {
                "account": _account(POOL, NATIVE_SOL_MINT),
                "nativeBalanceChange": 2_000_000_000,
                "tokenBalanceChanges": [],
            }
        ],
    )
    trade = extract_trade(buy, WALLET)
    assert trade is not None
    assert trade.amount_in == Decimal("2")


def test_sol_credited_without_a_transfer_is_read_from_account_data() -> None:
    """A bonding curve pays a sell by moving lamports directly: no nativeTransfers item."""
    sell = _tx(
        [_tt(WALLET, POOL, 1000.0, TOKEN)],
        [_nt(WALLET, FEE_ACCOUNT, 30_000_000)],
        source="PUMP_FUN",
        accountData=[{"account": WALLET, "nativeBalanceChange": 2_965_000_000, "tokenBalanceChanges": []}],
    )
    trade = extract_trade(sell, WALLET)
    assert trade is not None
    # +2.965 seen = proceeds - 0.03 fee leg - 0.000005 network fee
    assert (trade.token_out_mint, trade.amount_out) == (NATIVE_SOL_MINT, Decimal("2.995005"))
    assert trade.fee_sol == Decimal("0.030005")


def _event(native_input: str | None, outputs: list[tuple[str, str, str, int]]) -> dict[str, Any]:
    return {
        "swap": {
            "nativeInput": None if native_input is None else {"account": WALLET, "amount": native_input},
            "nativeOutput": None,
            "tokenInputs": [],
            "tokenOutputs": [
                {
                    "userAccount": user,
                    "tokenAccount": _account(user, mint),
                    "mint": mint,
                    "rawTokenAmount": {"tokenAmount": raw, "decimals": decimals},
                }
                for user, mint, raw, decimals in outputs
            ],
            "nativeFees": [],
            "tokenFees": [],
            "innerSwaps": [],
        }
    }


def test_swap_event_alone_gives_the_trade() -> None:
    reduced = {
        "signature": "sig",
        "source": "RAYDIUM",
        "events": _event("1980000000", [(WALLET, TOKEN, "1986656546333", 6)]),
    }
    trade = extract_trade(reduced, WALLET)
    assert trade is not None
    assert (trade.token_in_mint, trade.amount_in, trade.token_out_mint, trade.amount_out) == (
        NATIVE_SOL_MINT,
        Decimal("1.98"),
        TOKEN,
        Decimal("1986656.546333"),
    )
    assert (trade.slot, trade.timestamp, trade.fee_sol) == (0, 0, Decimal(0))


def test_swap_event_completes_a_missing_side_but_never_overrides_the_transfers() -> None:
    got_token = [_tt(POOL, WALLET, 1000.0, TOKEN)]
    completed = extract_trade(_tx(got_token, events=_event("1500000000", [(WALLET, TOKEN, "999000000", 6)])), WALLET)
    assert completed is not None
    assert (completed.amount_in, completed.amount_out) == (Decimal("1.5"), Decimal("1000"))

    contradicted = extract_trade(
        _tx(got_token, events=_event("1500000000", [(WALLET, USDC_MINT, "5000000", 6)])), WALLET
    )
    assert contradicted is None


def test_exact_raw_balance_change_replaces_a_float_rounded_amount() -> None:
    """18 significant digits do not survive a float; the raw accountData change does."""
    exact = "123456789.123456789"
    buy = _tx(
        [_tt(POOL, WALLET, float(exact), TOKEN), _tt(WALLET, POOL, 1.5, NATIVE_SOL_MINT)],
        accountData=[
            {
                "account": _account(WALLET, TOKEN),
                "nativeBalanceChange": 0,
                "tokenBalanceChanges": [
                    {
                        "userAccount": WALLET,
                        "tokenAccount": _account(WALLET, TOKEN),
                        "mint": TOKEN,
                        "rawTokenAmount": {"tokenAmount": "123456789123456789", "decimals": 9},
                    }
                ],
            }
        ],
    )
    assert Decimal(repr(float(exact))) != Decimal(exact)
    trade = extract_trade(buy, WALLET)
    assert trade is not None
    assert trade.amount_out == Decimal(exact)


def test_malformed_input_yields_none_or_best_effort() -> None:
    assert extract_trade(None, WALLET) is None  # type: ignore[arg-type]
    assert extract_trade([], WALLET) is None  # type: ignore[arg-type]
    assert extract_trade(_buy(), None) is None  # type: ignore[arg-type]
    assert extract_trade({k: v for k, v in _buy().items() if k != "signature"}, WALLET) is None

    junk = _buy()
    junk["tokenTransfers"] = [
        *junk["tokenTransfers"],
        None,
        3,
        "x",
        {"mint": ["x"]},
        {"fromUserAccount": {}, "tokenAmount": True},
    ]
    junk["nativeTransfers"] = {"fromUserAccount": WALLET, "toUserAccount": TIP_ACCOUNT, "amount": "1000000"}
    junk["accountData"] = [{"account": [], "nativeBalanceChange": "x", "tokenBalanceChanges": {"rawTokenAmount": 5}}]
    junk["slot"], junk["timestamp"], junk["fee"], junk["source"] = "slot", -3, float("nan"), 12
    trade = extract_trade(junk, WALLET)
    assert trade is not None
    assert (trade.amount_in, trade.slot, trade.timestamp, trade.source) == (Decimal("1.5"), 0, 0, "UNKNOWN")
    assert trade.fee_sol == Decimal("0.0025")

    for bad_amount in (None, "abc", "NaN", "-1", float("inf"), [1], "1e999999999"):
        broken = _buy()
        broken["tokenTransfers"][0]["tokenAmount"] = bad_amount
        assert extract_trade(broken, WALLET) is None


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from([WALLET, POOL, NATIVE_SOL_MINT]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_FIELDS = ["tokenTransfers", "nativeTransfers", "accountData", "events", "fee", "feePayer", "type", "transactionError"]


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_json)
def test_any_value_in_any_field_never_raises(field: str, value: Any) -> None:
    transaction = copy.deepcopy(_buy())
    transaction[field] = value
    extract_trade(transaction, WALLET)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, 3), key=st.sampled_from(sorted(_tt(WALLET, POOL, 1.0, TOKEN))), value=_json)
def test_any_value_in_any_transfer_field_never_raises(index: int, key: str, value: Any) -> None:
    transaction = copy.deepcopy(_buy())
    transaction["tokenTransfers"][index][key] = value
    extract_trade(transaction, WALLET)


@settings(max_examples=200, deadline=None)
@given(value=_json)
def test_arbitrary_json_never_raises(value: Any) -> None:
    extract_trade(value, WALLET)
