"""The RPC host of the emulator: JSON-RPC 2.0 ``getSignaturesForAddress`` and DAS ``getAssetBatch``.

Pure functions from a decoded request body to the JSON-RPC answer; the HTTP
side (api-key, rate limit, latency, faults) lives in ``app.py``. Every
JSON-RPC-level error is a JSON-RPC error object answered with HTTP 200, as
Solana nodes do:

- ``-32700`` "Parse error" (body is not JSON),
- ``-32600`` "Invalid request" (not an object with a ``method``, or an empty batch),
- ``-32601`` "Method not found",
- ``-32602`` "Invalid params: ..." (bad address, limit, cursor type, commitment, ids).

A batch (JSON array of calls) gets an array of answers in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from walletdoctor.helius.emulator.history import AssetInfo, WalletBook, WalletHistory
from walletdoctor.helius.emulator.settings import Endpoint
from walletdoctor.solana import InvalidAddressError

__all__ = ["MAX_ASSET_IDS", "MAX_SIGNATURES_LIMIT", "WalletResolver", "answer", "classify", "parse_error"]

#: ``getSignaturesForAddress`` page size bounds (FACTS §1.8): 1..1000, default 1000.
MAX_SIGNATURES_LIMIT = 1000
#: Most ids one ``getAssetBatch`` call accepts.
MAX_ASSET_IDS = 1000

#: Address -> history (``None``: a valid address without history). Raises InvalidAddressError.
WalletResolver = Callable[[str], WalletHistory | None]

_METHOD_ENDPOINTS = MappingProxyType(
    {"getSignaturesForAddress": Endpoint.RPC_SIGNATURES, "getAssetBatch": Endpoint.RPC_ASSETS}
)
# Solana nodes refuse "processed" for this method (FACTS §1.8).
_COMMITMENTS = (None, "confirmed", "finalized")


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def classify(payload: Any) -> tuple[Endpoint, str | None]:
    """The endpoint class and wallet (``getSignaturesForAddress``' address) a decoded body is for.

    A batch counts as one request of its first call's class.
    """
    call = payload[0] if isinstance(payload, list) and payload else payload
    if not isinstance(call, dict):
        return Endpoint.RPC_OTHER, None
    endpoint = _METHOD_ENDPOINTS.get(call.get("method"), Endpoint.RPC_OTHER)  # type: ignore[arg-type]
    wallet = None
    if endpoint is Endpoint.RPC_SIGNATURES:
        params = call.get("params")
        if isinstance(params, list) and params and isinstance(params[0], str):
            wallet = params[0]
    return endpoint, wallet


def parse_error() -> dict[str, Any]:
    """The answer to a body that is not JSON."""
    return _error(None, -32700, "Parse error")


def answer(payload: Any, resolve: WalletResolver, book: WalletBook) -> Any:
    """The JSON-RPC answer (one object, or a list for a batch) to a decoded request body."""
    if isinstance(payload, list):
        if not payload:
            return _error(None, -32600, "Invalid request")
        return [_call(call, resolve, book) for call in payload]
    return _call(payload, resolve, book)


def _call(call: Any, resolve: WalletResolver, book: WalletBook) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return _error(None, -32600, "Invalid request")
    call_id = call.get("id")
    method, params = call["method"], call.get("params")
    try:
        if method == "getSignaturesForAddress":
            result: Any = _signatures(params, resolve)
        elif method == "getAssetBatch":
            result = _asset_batch(params, book)
        else:
            return _error(call_id, -32601, "Method not found")
    except _RpcError as exc:
        return _error(call_id, exc.code, exc.message)
    return {"jsonrpc": "2.0", "result": result, "id": call_id}


def _signatures(params: Any, resolve: WalletResolver) -> list[Any]:
    """``getSignaturesForAddress`` (FACTS §1.8): newest first, ``before`` exclusive, ``until`` an exclusive stop.

    A ``before`` the wallet does not have gives ``[]`` and an ``until`` it
    does not have sets no stop (what a node does with signatures it cannot
    find in its ledger).
    """
    if not isinstance(params, list) or not 1 <= len(params) <= 2 or not isinstance(params[0], str):
        raise _RpcError(-32602, "Invalid params: expected [address, config]")
    config = params[1] if len(params) == 2 and params[1] is not None else {}
    if not isinstance(config, dict):
        raise _RpcError(-32602, "Invalid params: config must be an object")
    limit = config.get("limit", MAX_SIGNATURES_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SIGNATURES_LIMIT:
        raise _RpcError(-32602, f"Invalid params: limit must be an integer 1..{MAX_SIGNATURES_LIMIT}")
    before, until = config.get("before"), config.get("until")
    if not isinstance(before, str | None) or not isinstance(until, str | None):
        raise _RpcError(-32602, "Invalid params: before and until must be signature strings")
    if config.get("commitment") not in _COMMITMENTS:
        raise _RpcError(-32602, "Invalid params: commitment must be confirmed or finalized")
    try:
        history = resolve(params[0])
    except InvalidAddressError as exc:
        raise _RpcError(-32602, f"Invalid params: invalid address ({exc})") from exc
    if history is None:
        return []
    start, stop = 0, len(history)
    if before:
        index = history.index_of(before)
        if index is None:
            return []
        start = index + 1
    if until:
        index = history.index_of(until)
        if index is not None:
            stop = index
    return [history.signature_info(i) for i in range(start, min(stop, start + limit))]


def _asset_batch(params: Any, book: WalletBook) -> list[dict[str, Any] | None]:
    """DAS ``getAssetBatch``: one entry per id, in order, ``None`` for mints no wallet touches."""
    ids = params.get("ids") if isinstance(params, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _RpcError(-32602, 'Invalid params: expected {"ids": [mint, ...]}')
    if len(ids) > MAX_ASSET_IDS:
        raise _RpcError(-32602, f"Invalid params: at most {MAX_ASSET_IDS} ids per call")
    return [_asset(mint, book.find_asset(mint)) for mint in ids]


def _asset(mint: str, info: AssetInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "interface": "FungibleToken",
        "id": mint,
        "content": {"metadata": {"name": info["name"], "symbol": info["symbol"]}},
        "token_info": {"symbol": info["symbol"], "decimals": info["decimals"]},
    }


def _error(call_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": call_id}
