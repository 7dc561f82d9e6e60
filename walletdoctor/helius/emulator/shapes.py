"""Builders of Helius-shaped enhanced transactions, one function per DEX style.

Each builder returns the JSON of one Helius ``EnhancedTransaction`` (FACTS
1.5), modelled on the real samples in ``../shared/data/helius``; the
bookkeeping that keeps ``accountData`` consistent with the transfers lives
in :mod:`walletdoctor.helius.emulator.draft`.

- :func:`pump_amm_swap`: PumpSwap; wSOL legs with the pool as counterparty
  and two ~0.05 % wSOL fee legs (protocol, creator) beside the pool leg.
- :func:`pump_fun_swap`: the pump.fun bonding curve; SOL moves as lamports.
- :func:`meteora_swap`: dynamic pools split the wallet's leg 99.8 % to a vault
  and 0.2 % to the pool, and burn and mint vault LP tokens; DLMM pairs don't.
- :func:`raydium_swap`: Photon style; token -> USDC -> SOL through two pools,
  a fresh wSOL account closed back to the wallet, Photon's 1 % fee.
- :func:`jupiter_swap`: two hops through an intermediate mint held by the
  router (also what token-to-token swaps use).
- :func:`amm_swap`: one pool, wSOL legs (Orca, OKX, boop.fun, unknown).
- :func:`liquidity_transaction`: deposits and withdrawals, which never look
  like a swap of the wallet.

In every swap the legs the wallet gives and gets are exactly
``SwapSpec.gave`` and ``SwapSpec.got`` (Meteora splits the given one in two
transfers that add up to it); fees, tips and rent are separate transfers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from walletdoctor.helius.emulator.draft import (
    TOKEN_PROGRAM,
    Header,
    Leg,
    TransactionDraft,
    balance_change,
    derive_address,
    leg_symbol,
    token_account,
    ui_text,
)
from walletdoctor.solana import NATIVE_SOL_MINT, SOL_DECIMALS, USDC_MINT

__all__ = [
    "SwapSpec",
    "amm_swap",
    "auxiliary_mints",
    "jupiter_swap",
    "liquidity_transaction",
    "meteora_swap",
    "pump_amm_swap",
    "pump_fun_swap",
    "raydium_swap",
]

SOL = NATIVE_SOL_MINT
_PUMP_AMM = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
_PUMP_FUN = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
_PUMP_FUN_FEES = "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM"
_METEORA_DLMM = "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo"
_METEORA_DAMM = "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB"
#: Meteora's SOL vault of the real METEORA samples (owner, wSOL account) and its LP mint.
_METEORA_SOL_VAULT = ("FERjPVNEa7Udq8CEv68h6tPL46Tq7ieE49HrE2wea3XT", "HZeLxbZ9uHtSpwZC3LBr4Nubd14iHwz7bRSghRZf5VCG")
_METEORA_SOL_VAULT_LP = "FZN7QZ8ZUUAxMPfxYEYkH3cXUASzH8EqA6B4tyCL8f1j"
_RAYDIUM_V4 = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
_PHOTON = "BSfD6SHZigAfDWSjzD5Q41jw8LmKwtmjskPH9XW1mrRW"
_PHOTON_FEE_ACCOUNT = "AVUCZyuT35YSuj4RH7fwiyPu82Djn2Hfg7y2ND2XcnZH"
#: The token/USDC pool authority of the real Photon swaps, and Raydium's SOL/USDC pool
#: (authority, USDC vault, wSOL vault) they all route through.
_RAYDIUM_TOKEN_POOL = "FhVo3mqL8PW5pH5U2CN4XE33DokiyZnUwuGpH2hmHLuM"
_SOL_USDC_POOL = ("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
                  "HLmqeL62xR1QoZ1HKKbXRrdN1p3phKpxRMb2VVopvBBz", "DQyrAcCrDXQ7NeoqGgDCZwBvWDcYmFCjSb9JtteuvPpz")
_JUPITER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
_JUPITER_AUTHORITY = derive_address("jupiter-program-authority")
_ROUTE_VENUES = (("RAYDIUM", _RAYDIUM_V4, "RAYDIUM_LIQUIDITY_POOL_V4"), ("METEORA", _METEORA_DLMM, "METEORA_DLMM"))
_AMM_PROGRAMS = {"ORCA": "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc",
                 "OKX_DEX_ROUTER": "proVF4pMXVaYqmy4NjniPh4pqKNfMmsihgd4wdkCX3u",
                 "BOOP_FUN": "boop8hVGQGqehUK2iVEMEnMrL5RbjywRzHKBmBE7ry4"}
#: Protocol fee recipients of the real PUMP_AMM samples: (owner, its wSOL account).
_PUMP_PROTOCOL_FEES = (
    ("7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX", "X5QPJcpph4mBAJDzc4hRziFftSbcygV59kRb2Fu6Je1"),
    ("7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ", "7GFUN3bWzJMKMRZ34JLsvcqdssDbXnp589SiE33KVwcC"),
    ("AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY", "FGptqdxjahafaCzpZ1T6EDtCzYMv7Dyn5MgBLyB3VUFW"),
    ("JCRGumoE9Qi5BBgULTgdgTLjSgkCMSbF62ZZfGs84JeU", "DWpvfqzGWuVy9jVSKSShdM2733nrEsnnhsUStYbkj6Nn"),
    ("9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz", "Bvtgim23rfocUzxVX9j9QFxTbBnH8JZxnaGLCEkXvjKS"),
)
#: Tip receivers of the real samples (Nextblock, and the relays Photon tips).
_TIP_ACCOUNTS = ("nEXTBLockYgngeRmRrjDV31mGSekVPqZoMGhQEZtPVG", "6AUXdaeod2NRTPpKFLcxMesTKtxAATaK8QTdUuyE7ixt",
                 "HWEoBxYs7ssKuudEjzjmpfJVX7Dvi7wescFsVx2L5yoY", "7ks326H4LbMVaUC8nW5FpC5EoAf5eK5pf4Dsx4HDQLpq")
#: Slippage exceeded (Anchor error 6001), the usual reason a memecoin swap fails.
_SLIPPAGE_ERROR = "Error processing Instruction 3: custom program error: 0x1771"


@dataclass(frozen=True, slots=True)
class SwapSpec:
    """One swap of ``wallet``: it gives ``gave`` and gets ``got`` (the swap legs the export reports).

    ``hop`` is the intermediate asset of a routed swap (raw amount of the
    hop mint); ``swap_event`` adds ``events.swap``;
    ``unscaled_wsol`` reproduces Helius' raw-lamport wSOL ``tokenAmount``;
    ``failed`` sets ``transactionError`` and drops every effect;
    ``new_token_account`` pays rent for the bought token's account; ``tip``
    is a tip in lamports; ``photon_fee`` adds Photon's 1 % fee.
    """

    header: Header
    gave: Leg
    got: Leg
    hop: Leg | None = None
    swap_event: bool = False
    unscaled_wsol: bool = False
    failed: bool = False
    new_token_account: bool = False
    tip: int = 0
    photon_fee: bool = False

    @property
    def wallet(self) -> str:
        """The trading wallet: the fee payer."""
        return self.header.fee_payer

    @property
    def buys(self) -> bool:
        """True when the wallet gives SOL."""
        return self.gave.mint == SOL


def _description(wallet: str, gave: Leg, got: Leg) -> str:
    return f"{wallet} swapped {ui_text(gave.raw, gave.decimals)} {leg_symbol(gave)} for " \
           f"{ui_text(got.raw, got.decimals)} {leg_symbol(got)}"


def _swap_event(spec: SwapSpec, accounts: dict[str, str], inner: list[dict[str, Any]] | None) -> dict[str, Any]:
    """``events.swap``: SOL legs as ``nativeInput/Output``, tokens as the wallet's balance changes."""
    w = spec.wallet
    event: dict[str, Any] = {"nativeInput": None, "nativeOutput": None, "tokenInputs": [], "tokenOutputs": [],
                             "nativeFees": [], "tokenFees": [], "innerSwaps": inner or []}
    for leg, native_key, token_key in ((spec.gave, "nativeInput", "tokenInputs"),
                                       (spec.got, "nativeOutput", "tokenOutputs")):
        if leg.mint == SOL:
            event[native_key] = {"account": w, "amount": str(leg.raw)}
        else:
            event[token_key].append(balance_change(w, accounts[leg.mint], leg.mint, leg.raw, leg.decimals))
    return {"swap": event}


def _finish(tx: TransactionDraft, spec: SwapSpec, source: str, accounts: dict[str, str],
            inner: list[dict[str, Any]] | None = None, shown: SwapSpec | None = None,
            outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Pay the tip and close the swap; ``shown`` is what the event describes when not ``spec`` itself."""
    tx.top()
    if spec.tip:
        tx.sol(spec.wallet, _TIP_ACCOUNTS[tx.seed[2] % len(_TIP_ACCOUNTS)], spec.tip)
    shown = shown or spec
    events = _swap_event(shown, accounts, inner) if spec.swap_event else None
    if events and outputs is not None:
        events["swap"]["tokenOutputs"] = outputs
    description = _description(spec.wallet, shown.gave, shown.got) if events else ""
    return tx.finish("SWAP", source, description, events, _SLIPPAGE_ERROR if spec.failed else None,
                     spec.unscaled_wsol)


def auxiliary_mints(mint: str) -> tuple[str, str]:
    """Mints a swap of ``mint`` may move besides it, SOL and USDC: Meteora's vault LP tokens."""
    return derive_address("meteora-vault-lp", mint), _METEORA_SOL_VAULT_LP


def _legs(spec: SwapSpec) -> tuple[Leg, Leg]:
    """(token leg, SOL leg) of a swap against SOL."""
    return (spec.got, spec.gave) if spec.buys else (spec.gave, spec.got)


def _mine(tx: TransactionDraft, spec: SwapSpec, mint: str) -> str:
    """The wallet's account for ``mint``, opened (rent paid) when the spec says it is new."""
    if spec.new_token_account and spec.got.mint == mint:
        return tx.open_account(spec.wallet, mint)
    return token_account(spec.wallet, mint)


def pump_amm_swap(spec: SwapSpec, source: str = "PUMP_AMM") -> dict[str, Any]:
    """PumpSwap: the pool takes and gives wSOL; two ~0.05 % fee legs beside the pool leg.

    On a buy the wallet's wSOL account pays the pool leg (``spec.gave``) and
    both fee legs; on a sell the pool pays the wallet ``spec.got`` and the
    fee legs to the fee accounts, then the wallet unwraps.
    """
    tx, w = TransactionDraft(spec.header), spec.wallet
    token, sol = _legs(spec)
    pool = derive_address("pump-amm-pool", token.mint)
    base, quote, wsol = token_account(pool, token.mint), token_account(pool, SOL), token_account(w, SOL)
    protocol, protocol_wsol = _PUMP_PROTOCOL_FEES[tx.seed[1] % len(_PUMP_PROTOCOL_FEES)]
    creator = derive_address("pump-creator-vault", token.mint)
    creator_wsol = token_account(creator, SOL)
    tx.hold_wsol(w, wsol)
    mine = _mine(tx, spec, token.mint)
    fee = Leg(SOL, sol.raw * 499 // 1_000_000 if spec.buys else sol.raw * 5015 // 10_000_000, SOL_DECIMALS)
    payer = (w, wsol) if spec.buys else (pool, quote)
    if spec.buys:
        tx.sol(w, wsol, sol.raw + 2 * fee.raw)
    tx.call(_PUMP_AMM, [pool, w, token.mint, SOL, mine, wsol, base, quote, protocol, creator], token.raw, sol.raw)
    if spec.buys:
        tx.token((pool, w), (base, mine), token)
        tx.token((w, pool), (wsol, quote), sol)
    else:
        tx.token((w, pool), (mine, base), token)
        tx.token((pool, w), (quote, wsol), sol)
    tx.token((payer[0], protocol), (payer[1], protocol_wsol), fee)
    tx.token((payer[0], creator), (payer[1], creator_wsol), fee)
    if not spec.buys:
        tx.close(wsol, w, sol.raw)
    return _finish(tx, spec, source, {token.mint: mine})


def pump_fun_swap(spec: SwapSpec, source: str = "PUMP_FUN") -> dict[str, Any]:
    """pump.fun bonding curve: SOL moves as native lamports; 0.95 % protocol and 0.05 % creator fee."""
    tx, w = TransactionDraft(spec.header), spec.wallet
    token, sol = _legs(spec)
    curve = derive_address("pump-fun-curve", token.mint)
    creator = derive_address("pump-creator-vault", token.mint)
    mine = _mine(tx, spec, token.mint)
    tx.call(_PUMP_FUN, [_PUMP_FUN_FEES, token.mint, curve, token_account(curve, token.mint), mine, w, creator],
            token.raw, sol.raw)
    payer = w if spec.buys else curve
    if spec.buys:
        tx.token((curve, w), (token_account(curve, token.mint), mine), token)
        tx.sol(w, curve, sol.raw)
    else:
        tx.token((w, curve), (mine, token_account(curve, token.mint)), token)
        tx.sol(curve, w, sol.raw)
    tx.sol(payer, _PUMP_FUN_FEES, sol.raw * 95 // 10_000)
    tx.sol(payer, creator, sol.raw * 5 // 10_000)
    return _finish(tx, spec, source, {token.mint: mine})


def meteora_swap(spec: SwapSpec, source: str = "METEORA") -> dict[str, Any]:
    """Meteora, in one of two pool kinds fixed per mint (about half each).

    Dynamic pools (DAMM v1, as in both real METEORA samples): the given leg
    goes 0.2 % to the pool and 99.8 % to the vault of its asset; the other
    asset's vault pays the wallet. Each asset has its own vault owner (SOL's
    is the real shared one), and the pool burns and mints vault LP tokens
    with no wallet involved. The export counts the sum of the two given
    legs, which is ``spec.gave``. DLMM pools: one reserve per asset, both
    owned by the pair; one leg each way.
    """
    tx, w = TransactionDraft(spec.header), spec.wallet
    token, sol = _legs(spec)
    wsol = token_account(w, SOL)
    tx.hold_wsol(w, wsol)
    mine = _mine(tx, spec, token.mint)
    given, got = spec.gave, spec.got
    mine_of = {SOL: wsol, token.mint: mine}
    if spec.buys:
        tx.sol(w, wsol, sol.raw)
    # A hash bit of the mint picks the kind; SPLAT (4Uf883...), of both real samples, gets a dynamic pool.
    if hashlib.blake2b(token.mint.encode(), digest_size=1).digest()[0] & 1:
        pair = derive_address("meteora-dlmm-pair", token.mint)
        tx.call(_METEORA_DLMM, [pair, w, mine, wsol, token_account(pair, token.mint), token_account(pair, SOL)],
                given.raw, got.raw)
        tx.token((w, pair), (mine_of[given.mint], token_account(pair, given.mint)), given)
        tx.token((pair, w), (token_account(pair, got.mint), mine_of[got.mint]), got)
    else:
        pool = derive_address("meteora-pool", token.mint)
        token_vault = derive_address("meteora-vault", token.mint)
        vaults = {token.mint: (token_vault, token_account(token_vault, token.mint)), SOL: _METEORA_SOL_VAULT}
        small = Leg(given.mint, given.raw * 2 // 1000, given.decimals)
        main = Leg(given.mint, given.raw - small.raw, given.decimals)
        tx.call(_METEORA_DAMM, [pool, w, mine, wsol, *vaults[token.mint], *vaults[SOL]], given.raw, got.raw)
        tx.token((w, pool), (mine_of[given.mint], token_account(pool, given.mint)), small)
        tx.token((w, vaults[given.mint][0]), (mine_of[given.mint], vaults[given.mint][1]), main)
        tx.token((vaults[got.mint][0], w), (vaults[got.mint][1], mine_of[got.mint]), got)
        # The pool holds vault LP tokens: what enters a vault is minted, what leaves is burnt.
        token_lp = Leg(auxiliary_mints(token.mint)[0], token.raw if spec.buys else main.raw, token.decimals)
        sol_lp = Leg(_METEORA_SOL_VAULT_LP, (main.raw if spec.buys else sol.raw) * 9166 // 10_000, SOL_DECIMALS)
        burnt, minted = (token_lp, sol_lp) if spec.buys else (sol_lp, token_lp)
        tx.token((pool, ""), (token_account(pool, burnt.mint), ""), burnt)
        tx.token(("", pool), ("", token_account(pool, minted.mint)), minted)
    if not spec.buys:
        tx.close(wsol, w, sol.raw)
    return _finish(tx, spec, source, {token.mint: mine})


def raydium_swap(spec: SwapSpec, source: str = "RAYDIUM") -> dict[str, Any]:
    """Photon-style Raydium swap, modelled on the 4 real RAYDIUM swaps of page 1.

    With ``spec.hop`` (USDC) the token trades for USDC in one pool and the
    USDC for SOL in Raydium's SOL/USDC pool; the wallet's USDC account nets
    to zero. SOL goes through a fresh wSOL account, closed back to the
    wallet on a sell. Photon's fee is 1 % of the gross SOL. An event shows
    only the USDC -> SOL hop, as Helius' own does (the data README's trap).
    """
    tx, w = TransactionDraft(spec.header), spec.wallet
    token, sol = _legs(spec)
    temp = derive_address("wsol-seed-account", spec.header.signature)
    sol_pool, sol_pool_usdc, sol_pool_wsol = _SOL_USDC_POOL
    usdc = token_account(w, USDC_MINT)
    tx.hold_wsol(w, temp)
    mine = _mine(tx, spec, token.mint)
    hop = spec.hop if token.mint != USDC_MINT else None
    if spec.buys:
        tx.sol(w, temp, sol.raw)
    tx.call(_PHOTON if spec.photon_fee else _RAYDIUM_V4,
            [w, mine, usdc, temp, _RAYDIUM_V4, sol_pool, sol_pool_usdc, sol_pool_wsol], spec.gave.raw, 0)
    # Legs as a buy lists them, pool by pool; a sell runs each pool's pair the other way.
    pairs = [(((w, sol_pool), (temp, sol_pool_wsol), sol), ((sol_pool, w), (sol_pool_usdc, usdc), hop or token))]
    if hop:
        pool = _RAYDIUM_TOKEN_POOL
        pairs.insert(0, (((w, pool), (usdc, token_account(pool, USDC_MINT)), hop),
                         ((pool, w), (token_account(pool, token.mint), mine), token)))
    for first, second in pairs:
        if not spec.buys:
            first, second = ((second[0][::-1], second[1][::-1], second[2]), (first[0][::-1], first[1][::-1], first[2]))
        tx.token(*first)
        tx.token(*second)
    if not spec.buys:
        tx.close(temp, w, sol.raw)
    if spec.photon_fee:
        tx.sol(w, _PHOTON_FEE_ACCOUNT, sol.raw // 99 if spec.buys else sol.raw // 100)
    accounts = {token.mint: mine, USDC_MINT: usdc}
    if not hop:
        return _finish(tx, spec, source, accounts)
    shown = SwapSpec(spec.header, spec.gave, hop) if spec.buys else SwapSpec(spec.header, hop, spec.got)
    outputs = [balance_change(sol_pool, sol_pool_usdc, USDC_MINT, hop.raw, hop.decimals)] if spec.buys else None
    return _finish(tx, spec, source, accounts, shown=shown, outputs=outputs)


def jupiter_swap(spec: SwapSpec, source: str = "JUPITER") -> dict[str, Any]:
    """A two-hop route: ``spec.gave`` -> ``spec.hop`` -> ``spec.got``, the hop held by the router.

    Works for any pair (token-to-token included); SOL legs are wrapped
    into and unwrapped from the wallet's wSOL account. An event carries
    both hops as ``innerSwaps``.
    """
    tx, w, hop = TransactionDraft(spec.header), spec.wallet, spec.hop
    if hop is None:
        raise ValueError("a Jupiter route needs an intermediate leg (spec.hop)")
    wsol = token_account(w, SOL)
    tx.hold_wsol(w, wsol)
    given = wsol if spec.gave.mint == SOL else token_account(w, spec.gave.mint)
    got = wsol if spec.got.mint == SOL else _mine(tx, spec, spec.got.mint)
    first = derive_address("route-pool", spec.gave.mint, hop.mint)
    second = derive_address("route-pool", hop.mint, spec.got.mint)
    middle = token_account(_JUPITER_AUTHORITY, hop.mint)
    if spec.gave.mint == SOL:
        tx.sol(w, wsol, spec.gave.raw)
    tx.call(_JUPITER, [TOKEN_PROGRAM, _JUPITER_AUTHORITY, w, given, middle, got, first, second], spec.gave.raw, spec.got.raw)
    legs = (tx.token((w, first), (given, token_account(first, spec.gave.mint)), spec.gave),
            tx.token((first, _JUPITER_AUTHORITY), (token_account(first, hop.mint), middle), hop),
            tx.token((_JUPITER_AUTHORITY, second), (middle, token_account(second, hop.mint)), hop),
            tx.token((second, w), (token_account(second, spec.got.mint), got), spec.got))
    if spec.got.mint == SOL:
        tx.close(wsol, w, spec.got.raw)
    inner = [{"tokenInputs": [legs[i]], "tokenOutputs": [legs[i + 1]], "tokenFees": [], "nativeFees": [],
              "programInfo": {"source": name, "account": program, "programName": program_name,
                              "instructionName": "swap"}}
             for i, (name, program, program_name) in ((0, _ROUTE_VENUES[0]), (2, _ROUTE_VENUES[1]))]
    return _finish(tx, spec, source, {spec.gave.mint: given, spec.got.mint: got}, inner)


def amm_swap(spec: SwapSpec, source: str) -> dict[str, Any]:
    """One pool against wSOL (Orca, OKX, boop.fun, unlabelled DEXes): the simplest swap shape."""
    tx, w = TransactionDraft(spec.header), spec.wallet
    token, sol = _legs(spec)
    pool = derive_address(source, "pool", token.mint)
    wsol = token_account(w, SOL)
    tx.hold_wsol(w, wsol)
    mine = _mine(tx, spec, token.mint)
    if spec.buys:
        tx.sol(w, wsol, sol.raw)
    tx.call(_AMM_PROGRAMS.get(source, _RAYDIUM_V4), [pool, w, mine, wsol], spec.gave.raw, spec.got.raw)
    given, got = (wsol, mine) if spec.buys else (mine, wsol)
    tx.token((w, pool), (given, token_account(pool, spec.gave.mint)), spec.gave)
    tx.token((pool, w), (token_account(pool, spec.got.mint), got), spec.got)
    if not spec.buys:
        tx.close(wsol, w, sol.raw)
    return _finish(tx, spec, source, {token.mint: mine})


def liquidity_transaction(header: Header, pool: str, legs: list[Leg], adding: bool, source: str) -> dict[str, Any]:
    """``ADD_LIQUIDITY`` (the fee payer deposits ``legs``) or ``WITHDRAW_LIQUIDITY`` (it gets them back).

    No LP token is minted to the wallet, so the transaction never reads as
    a swap of the wallet.
    """
    tx, w = TransactionDraft(header), header.fee_payer
    wsol = token_account(w, SOL)
    tx.hold_wsol(w, wsol)
    for leg in legs:
        if adding and leg.mint == SOL:
            tx.sol(w, wsol, leg.raw)
    program = _METEORA_DLMM if source == "METEORA" else _AMM_PROGRAMS.get(source, _RAYDIUM_V4)
    tx.call(program, [pool, w, *(token_account(pool, leg.mint) for leg in legs)], *(leg.raw for leg in legs))
    for leg in legs:
        mine, vault = token_account(w, leg.mint), token_account(pool, leg.mint)
        tx.token((w, pool) if adding else (pool, w), (mine, vault) if adding else (vault, mine), leg)
    for leg in legs:
        if not adding and leg.mint == SOL:
            tx.close(wsol, w, leg.raw)
    return tx.finish("ADD_LIQUIDITY" if adding else "WITHDRAW_LIQUIDITY", source)
