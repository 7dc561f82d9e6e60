"""Reading and validating a stream request's path and query (DESIGN section 1)."""

from __future__ import annotations

from collections.abc import Mapping

from walletdoctor.config import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from walletdoctor.errors import ErrorCode, InvalidRequest
from walletdoctor.helius.fetch import HistoryOrder, TimeWindow
from walletdoctor.solana import InvalidAddressError, validate_address
from walletdoctor.streams.params import StreamParams

__all__ = ["parse_stream_params"]


def parse_stream_params(address: str, query: Mapping[str, str]) -> StreamParams:
    """Validate ``address`` and the query: ``batch_size`` 1..1000, ``since``/``until``
    (unix seconds), ``order`` (``desc`` newest first, default; ``asc`` oldest first).

    Raises:
        InvalidRequest: ``INVALID_ADDRESS`` for anything but a base58 32-byte
            public key; ``INVALID_REQUEST`` for a bad query parameter, naming it.
    """
    try:
        wallet = validate_address(address)
    except InvalidAddressError as exc:
        raise InvalidRequest(
            ErrorCode.INVALID_ADDRESS, f"not a Solana address: {exc}", {"address": address[:64]}
        ) from exc
    batch_size = _int_param(query, "batch_size", DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE)
    since = _optional_int_param(query, "since")
    until = _optional_int_param(query, "until")
    if since is not None and until is not None and since > until:
        raise InvalidRequest(ErrorCode.INVALID_REQUEST, "since must not be after until", {"parameter": "since"})
    raw_order = query.get("order") or HistoryOrder.DESC.value
    try:
        order = HistoryOrder(raw_order)
    except ValueError:
        raise InvalidRequest(ErrorCode.INVALID_REQUEST, "order must be asc or desc", {"parameter": "order"}) from None
    return StreamParams(wallet=wallet, batch_size=batch_size, window=TimeWindow(since, until), order=order)


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _optional_int_param(query, name)
    if value is None:
        return default
    if not low <= value <= high:
        raise InvalidRequest(
            ErrorCode.INVALID_REQUEST, f"{name} must be between {low} and {high}", {"parameter": name}
        )
    return value


def _optional_int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(ErrorCode.INVALID_REQUEST, f"{name} must be an integer", {"parameter": name}) from None
    if value < 0:
        raise InvalidRequest(ErrorCode.INVALID_REQUEST, f"{name} must not be negative", {"parameter": name})
    return value
