"""The emulator's Helius routes over real loopback HTTP: paging in both vocabularies, the
type-filter quirk, JSON-RPC, batch parsing, api-key and parameter errors, admin endpoints."""

from __future__ import annotations

import re
import sys
import types
from typing import TYPE_CHECKING, Any

import pytest

from walletdoctor.helius.emulator.app import EMULATOR_BOOK, EMULATOR_SETTINGS
from walletdoctor.helius.emulator.settings import EmulatorSettings
from walletdoctor.solana import USDC_MINT

if TYPE_CHECKING:
    from tests.helius.emulator.conftest import Emulator

BONK_MINT = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
OTHER_ADDRESS = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
SWAP_INDICES = [0, 10, 20, 30]
_RESUME = re.compile(r"parameter set to ([1-9A-HJ-NP-Za-km-z]+)\.")


def _sigs(page: list[dict[str, Any]]) -> list[str]:
    return [tx["signature"] for tx in page]


async def _collect(emulator: Emulator, cursor: str, **params: Any) -> tuple[list[str], int]:
    """Page with ``cursor`` = last item's signature until ``[]``; returns (signatures, requests)."""
    seen: list[str] = []
    requests = 0
    while True:
        status, page = await emulator.history(**params)
        requests += 1
        assert status == 200 and isinstance(page, list), page
        if not page:
            return seen, requests
        seen += _sigs(page)
        params[cursor] = page[-1]["signature"]


@pytest.mark.parametrize("cursor", ["before_signature", "before"])
async def test_desc_paging_gives_whole_history_once(emulator: Emulator, cursor: str) -> None:
    seen, requests = await _collect(emulator, cursor, limit=7)
    assert seen == emulator.wallet.signatures
    assert requests == 7  # 6 pages (40 / 7) and the empty one that ends it


async def test_asc_paging_gives_whole_history_once_oldest_first(emulator: Emulator) -> None:
    seen, _ = await _collect(emulator, "after_signature", limit=9, sort_order="asc")
    assert seen == emulator.wallet.signatures[::-1]


@pytest.mark.parametrize("stop", ["until", "after_signature"])
async def test_until_is_an_exclusive_stop(emulator: Emulator, stop: str) -> None:
    sigs = emulator.wallet.signatures
    status, page = await emulator.history(limit=100, before=sigs[3], **{stop: sigs[12]})
    assert status == 200
    assert _sigs(page) == sigs[4:12]


async def test_default_limit_is_ten(emulator: Emulator) -> None:
    status, page = await emulator.history()
    assert status == 200 and _sigs(page) == emulator.wallet.signatures[:10]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_limit_out_of_range_is_400(emulator: Emulator, limit: str) -> None:
    status, body = await emulator.history(limit=limit)
    assert status == 400 and "limit" in body["error"]


async def test_limit_100_is_accepted(emulator: Emulator) -> None:
    status, page = await emulator.history(limit=100)
    assert status == 200 and len(page) == 40


@pytest.mark.parametrize(
    "params",
    [
        {"before": "x", "before_signature": "x"},
        {"before_signature": "1111111111111111111111111111111111111111111111111111111111111111"},
        {"sort_order": "newest"},
        {"commitment": "processed"},
        {"gt_time": "1", "lt_slot": "5"},
        {"gt_time": "soon"},
    ],
)
async def test_bad_history_parameters_are_400(emulator: Emulator, params: dict[str, str]) -> None:
    status, body = await emulator.history(**params)
    assert status == 400 and isinstance(body["error"], str)


async def test_time_and_slot_filters_narrow_the_range(emulator: Emulator) -> None:
    sigs = emulator.wallet.signatures
    # blockTime of index i is 1_750_000_000 - i, slot 340_000_000 - 2*i.
    status, page = await emulator.history(limit=100, gte_time=1_750_000_000 - 9, lt_time=1_750_000_000 - 2)
    assert status == 200 and _sigs(page) == sigs[3:10]
    status, page = await emulator.history(limit=100, gt_slot=340_000_000 - 10, lte_slot=340_000_000 - 4)
    assert status == 200 and _sigs(page) == sigs[2:5]
    status, page = await emulator.history(limit=100, sort_order="asc", gt_time=1_750_000_000 - 3)
    assert status == 200 and _sigs(page) == sigs[:3][::-1]


async def test_api_key_is_required(emulator: Emulator) -> None:
    path = f"/v0/addresses/{emulator.wallet.address}/transactions"
    async with emulator.session.get(emulator.url(path, key=None)) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid api key provided"}
    async with emulator.session.post(emulator.url("/", key=None), json={"method": "getSlot"}) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == -32401


async def test_invalid_address_is_400(emulator: Emulator) -> None:
    status, body = await emulator.history("not-a-solana-address")
    assert status == 400 and "invalid address" in body["error"]


async def test_address_without_history_pages_empty(emulator: Emulator) -> None:
    assert await emulator.history(OTHER_ADDRESS) == (200, [])


@pytest.mark.parametrize(
    ("as_404", "status", "param", "cursor"),
    [(False, 200, "before-signature", "before_signature"), (True, 404, "before", "before")],
)
async def test_type_filter_failed_to_find_events_continuation(
    emulator: Emulator, as_404: bool, status: int, param: str, cursor: str
) -> None:
    """FACTS §1.3: nothing matching within the window is an error naming where to resume."""
    emulator.app[EMULATOR_SETTINGS].search_error_as_404 = as_404
    sigs = emulator.wallet.signatures
    found: list[str] = []
    errors: list[str] = []
    params: dict[str, Any] = {"type": "SWAP"}
    for _ in range(50):
        got_status, body = await emulator.history(**params)
        if isinstance(body, dict):
            assert got_status == status
            assert body["error"].startswith("Failed to find events within the search period.")
            assert f"with the `{param}` parameter set to " in body["error"]
            resume = _RESUME.search(body["error"])
            assert resume is not None
            errors.append(resume.group(1))
            params[cursor] = resume.group(1)
            continue
        assert got_status == 200
        if not body:
            break
        assert all(tx["type"] == "SWAP" for tx in body)
        found += _sigs(body)
        params[cursor] = body[-1]["signature"]
    assert found == [sigs[i] for i in SWAP_INDICES]
    # Window 5: after each swap the next 5 are scanned in vain; the last scan
    # (indices 36..39) reaches the end and answers [] instead.
    assert errors == [sigs[i] for i in (5, 15, 25, 35)]


async def test_type_filter_ascending_resumes_with_after_signature(emulator: Emulator) -> None:
    sigs = emulator.wallet.signatures
    found: list[str] = []
    params: dict[str, Any] = {"type": "swap", "sort_order": "asc", "limit": 2}
    for _ in range(50):
        status, body = await emulator.history(**params)
        assert status == 200
        if isinstance(body, dict):
            params["after_signature"] = _RESUME.search(body["error"]).group(1)  # type: ignore[union-attr]
            continue
        if not body:
            break
        found += _sigs(body)
        params["after_signature"] = body[-1]["signature"]
    assert found == [sigs[i] for i in reversed(SWAP_INDICES)]


async def test_source_filter_matches_like_type(emulator: Emulator) -> None:
    status, page = await emulator.history(source="RAYDIUM", limit=1)
    assert status == 200 and _sigs(page) == [emulator.wallet.signatures[0]]


async def test_get_signatures_pages_with_before(emulator: Emulator) -> None:
    seen: list[str] = []
    config: dict[str, Any] = {"limit": 6}
    while True:
        answer = await emulator.rpc("getSignaturesForAddress", [emulator.wallet.address, config])
        result = answer["result"]
        if not result:
            break
        assert set(result[0]) == {"signature", "slot", "blockTime", "err", "memo", "confirmationStatus"}
        seen += [item["signature"] for item in result]
        config["before"] = result[-1]["signature"]
    assert seen == emulator.wallet.signatures


async def test_get_signatures_until_default_limit_and_unknown_cursors(emulator: Emulator) -> None:
    sigs = emulator.wallet.signatures
    address = emulator.wallet.address
    assert len((await emulator.rpc("getSignaturesForAddress", [address]))["result"]) == 40
    answer = await emulator.rpc("getSignaturesForAddress", [address, {"before": sigs[1], "until": sigs[5]}])
    assert [item["signature"] for item in answer["result"]] == sigs[2:5]
    unknown = "1" * 64
    assert (await emulator.rpc("getSignaturesForAddress", [address, {"before": unknown}]))["result"] == []
    answer = await emulator.rpc("getSignaturesForAddress", [address, {"until": unknown, "limit": 1000}])
    assert len(answer["result"]) == 40
    assert (await emulator.rpc("getSignaturesForAddress", [OTHER_ADDRESS]))["result"] == []


@pytest.mark.parametrize(
    "params",
    [
        ["not-an-address"],
        [],
        "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2",
        ["3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2", {"limit": 0}],
        ["3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2", {"limit": 1001}],
        ["3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2", {"commitment": "processed"}],
    ],
)
async def test_get_signatures_bad_params_are_32602(emulator: Emulator, params: Any) -> None:
    answer = await emulator.rpc("getSignaturesForAddress", params)
    assert answer["error"]["code"] == -32602 and answer["id"] == 1


async def test_unknown_method_parse_error_and_batch(emulator: Emulator) -> None:
    assert (await emulator.rpc("getBalance", []))["error"]["code"] == -32601
    async with emulator.session.post(emulator.url("/"), data=b"{not json") as response:
        assert response.status == 200 and (await response.json())["error"]["code"] == -32700
    batch = [
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "getSignaturesForAddress",
            "params": [emulator.wallet.address, {"limit": 1}],
        },
        {"jsonrpc": "2.0", "id": 8, "method": "getAssetBatch", "params": {"ids": [USDC_MINT]}},
    ]
    async with emulator.session.post(emulator.url("/"), json=batch) as response:
        first, second = await response.json()
    assert first["id"] == 7 and first["result"][0]["signature"] == emulator.wallet.signatures[0]
    assert second["id"] == 8 and second["result"][0]["token_info"]["symbol"] == "USDC"


async def test_get_asset_batch_keeps_order_with_nulls(emulator: Emulator) -> None:
    answer = await emulator.rpc("getAssetBatch", {"ids": [BONK_MINT, "unknownMint1111", USDC_MINT]})
    bonk, unknown, usdc = answer["result"]
    assert unknown is None
    assert bonk == {
        "interface": "FungibleToken",
        "id": BONK_MINT,
        "content": {"metadata": {"name": "Bonk", "symbol": "Bonk"}},
        "token_info": {"symbol": "Bonk", "decimals": 5},
    }
    assert usdc["id"] == USDC_MINT and usdc["token_info"]["decimals"] == 6
    too_many = await emulator.rpc("getAssetBatch", {"ids": [USDC_MINT] * 1001})
    assert too_many["error"]["code"] == -32602


async def test_parse_transactions_in_request_order_unknown_omitted(emulator: Emulator) -> None:
    sigs = emulator.wallet.signatures
    wanted = [sigs[7], "1" * 64, sigs[2], sigs[30]]
    async with emulator.session.post(emulator.url("/v0/transactions"), json={"transactions": wanted}) as response:
        assert response.status == 200
        assert _sigs(await response.json()) == [sigs[7], sigs[2], sigs[30]]
    async with emulator.session.post(emulator.url("/v0/transactions"), json={"transactions": sigs * 3}) as response:
        assert response.status == 400 and "100" in (await response.json())["error"]
    async with emulator.session.post(emulator.url("/v0/transactions"), json=["x"]) as response:
        assert response.status == 400


async def test_admin_patch_changes_behaviour_at_run_time(emulator: Emulator) -> None:
    admin = f"{emulator.base_url}/_emulator/settings"
    async with emulator.session.get(admin) as response:
        assert (await response.json())["history_search_window"] == 5
    async with emulator.session.patch(admin, json={"server_error_ratio": 1.0}) as response:
        assert response.status == 200 and (await response.json())["server_error_ratio"] == 1.0
    assert (await emulator.history())[0] >= 500
    async with emulator.session.patch(admin, json={"server_error_ratio": 0, "history_search_window": 50}) as response:
        assert response.status == 200
    assert (await emulator.history())[0] == 200
    assert emulator.app[EMULATOR_SETTINGS].history_search_window == 50


@pytest.mark.parametrize(
    "patch", [{"server_error_ratio": 2}, {"no_such_setting": 1}, {"rpc_rps": "fast"}, {"retry_after": 1}, [1]]
)
async def test_admin_patch_rejects_bad_values_and_changes_nothing(emulator: Emulator, patch: Any) -> None:
    before = emulator.app[EMULATOR_SETTINGS].to_json()
    async with emulator.session.patch(f"{emulator.base_url}/_emulator/settings", json=patch) as response:
        assert response.status == 400 and "error" in await response.json()
    assert emulator.app[EMULATOR_SETTINGS].to_json() == before


async def test_synthetic_wallets_are_made_lazily_on_first_use(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tiny_wallet_class: type
) -> None:
    made: list[tuple[str, int]] = []

    def synthetic_wallet(address: str, size: int) -> Any:
        made.append((address, size))
        return tiny_wallet_class(name=address, size=size, address=address)

    fake_module = types.ModuleType("walletdoctor.helius.emulator.synthetic")
    fake_module.SyntheticWallet = synthetic_wallet  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "walletdoctor.helius.emulator.synthetic", fake_module)
    emulator.app[EMULATOR_SETTINGS].update({"synthetic_wallets": {OTHER_ADDRESS: 25}})
    assert made == []
    seen, _ = await _collect(emulator, "before", address=OTHER_ADDRESS, limit=100)
    assert len(seen) == 25 and made == [(OTHER_ADDRESS, 25)]
    assert emulator.app[EMULATOR_BOOK].get(OTHER_ADDRESS) is not None
    await emulator.history(OTHER_ADDRESS)
    assert len(made) == 1


def test_settings_defaults_follow_helius_business_plan() -> None:
    settings = EmulatorSettings()
    assert (settings.rpc_latency_s, settings.enhanced_latency_s) == (0.150, 0.600)
    assert (settings.rpc_rps, settings.enhanced_rps) == (200, 50)
    assert settings.retry_after and settings.history_search_window == 50 and not settings.search_error_as_404
    assert settings.synthetic_default_size == 0 and settings.timeout_s == 30.0


@pytest.mark.parametrize(
    "bad",
    [
        {"rpc_latency_s": -1},
        {"malformed_ratio": 1.5},
        {"server_error_ratio": 0.6, "timeout_ratio": 0.6},
        {"rate_limit_window": "daily"},
        {"history_search_window": 0},
        {"synthetic_wallets": {"a": -1}},
        {"enhanced_rps": 1.5},
    ],
)
def test_settings_reject_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EmulatorSettings(**bad)
