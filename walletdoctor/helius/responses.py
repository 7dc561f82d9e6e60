"""Reading Helius' answers: status codes, JSON bodies, JSON-RPC envelopes and their quirks.

Pure functions, one per rule, used inside each attempt of
:class:`~walletdoctor.helius.client.HeliusClient` so that every transient
answer (including a JSON-RPC rate-limit error inside an HTTP 200) is
retried and seen by the circuit breaker.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from typing import Any, TypedDict

import msgspec
import orjson

from walletdoctor.helius.errors import (
    InvalidResponse,
    RateLimited,
    RequestRejected,
    UpstreamUnavailable,
)

__all__ = [
    "EnhancedTransaction",
    "SwapEvents",
    "decode_transactions",
    "interpret_response",
    "jsonrpc_result",
    "retry_after_seconds",
    "search_hint",
    "transaction_list",
]

#: "Failed to find events within the search period. To continue search, query
#: the API again with the `before(-signature)` parameter set to <sig>." (FACTS 1.3)
_SEARCH_HINT = re.compile(r"Failed to find events.*?set to\s+`?([1-9A-HJ-NP-Za-km-z]{32,90})")

#: Helius' JSON-RPC "Rate limit exceeded" (FACTS 1.6).
_JSONRPC_RATE_LIMITED = -32005


class SwapEvents(TypedDict, total=False):
    """An enhanced transaction's ``events``, of which only ``swap`` is read."""

    swap: Any


class EnhancedTransaction(TypedDict, total=False):
    """The fields of a Helius ``EnhancedTransaction`` (FACTS 1.5) that WalletDoctor reads.

    Answers of the enhanced endpoints are decoded into these (plain dicts,
    values as JSON gave them, any field may be missing): ``instructions``
    and ``description``, a third of an answer's bytes, and events other
    than ``swap`` are skipped while decoding instead of being built and
    thrown away. Measured on the real wallet's answers (100 transactions,
    about 500 kB each): 3.4 ms to decode against orjson's 6.3 ms for the
    whole document. Trade extraction reads nothing else
    (:func:`walletdoctor.analytics.extraction.extract_trade`).
    """

    signature: Any
    slot: Any
    timestamp: Any
    fee: Any
    feePayer: Any
    type: Any
    source: Any
    transactionError: Any
    tokenTransfers: Any
    nativeTransfers: Any
    accountData: Any
    events: SwapEvents | None


_TRANSACTIONS = msgspec.json.Decoder(list[EnhancedTransaction])


def decode_transactions(raw: bytes) -> Any:
    """A JSON body that should be a list of enhanced transactions, as :class:`EnhancedTransaction` dicts.

    Any other JSON (the history endpoint's search hint, an item that is not
    an object, ``events`` that is not one) is decoded whole, as
    :func:`interpret_response` decodes other answers, for the caller to
    judge. Raises ``msgspec.DecodeError`` or ``orjson.JSONDecodeError`` for
    a body that is not JSON.
    """
    try:
        return _TRANSACTIONS.decode(raw)
    except msgspec.ValidationError:
        return orjson.loads(raw)


def interpret_response(
    endpoint: str,
    status: int,
    raw: bytes,
    retry_after: str | None,
    accept_search_hint: bool,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> Any:
    """The JSON body of a successful answer, decoded by ``decode`` (:func:`decode_transactions`
    for the enhanced endpoints).

    A 404 whose body is the "Failed to find events" hint is a success when
    ``accept_search_hint`` (the history endpoint sent it so in older versions).

    Raises:
        RateLimited: HTTP 429, with Retry-After in seconds when sent.
        UpstreamUnavailable: HTTP 5xx.
        RequestRejected: any other 4xx.
        InvalidResponse: a 2xx body that is not JSON.
    """
    if status == 429:
        raise RateLimited("rate limited (HTTP 429)", endpoint=endpoint, retry_after=retry_after_seconds(retry_after))
    if status >= 500:
        raise UpstreamUnavailable(f"HTTP {status}", endpoint=endpoint, status=status)
    if status == 404 and accept_search_hint:
        body = _loads_or_none(raw, orjson.loads)
        if isinstance(body, dict) and search_hint(body) is not None:
            return body
    if status >= 400:
        raise RequestRejected(f"HTTP {status}", endpoint=endpoint, status=status)
    body = _loads_or_none(raw, decode)
    if body is None:
        raise InvalidResponse(f"HTTP {status} with a body that is not JSON", endpoint=endpoint, status=status)
    return body


def _loads_or_none(raw: bytes, decode: Callable[[bytes], Any]) -> Any:
    try:
        return decode(raw)
    except (orjson.JSONDecodeError, msgspec.DecodeError):
        return None


def search_hint(body: dict[str, Any]) -> str | None:
    """The signature to resume from, if ``body`` is the "Failed to find events" answer."""
    message = body.get("error")
    if not isinstance(message, str):
        return None
    match = _SEARCH_HINT.search(message)
    return match.group(1) if match else None


def transaction_list(body: Any, endpoint: str) -> list[dict[str, Any]]:
    """``body`` as a list of enhanced transactions. Raises InvalidResponse otherwise."""
    if not isinstance(body, list) or not all(isinstance(item, dict) and "signature" in item for item in body):
        raise InvalidResponse("expected a list of enhanced transactions", endpoint=endpoint)
    return body


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())




def jsonrpc_result(endpoint: str, body: Any) -> Any:
    """The ``result`` of a JSON-RPC 2.0 answer.

    Raises:
        RateLimited: the error object has Helius' code -32005.
        RequestRejected: any other JSON-RPC error (our request is wrong).
        InvalidResponse: not a JSON-RPC answer.
    """
    if not isinstance(body, dict):
        raise InvalidResponse("JSON-RPC answer is not an object", endpoint=endpoint)
    error = body.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        if code == _JSONRPC_RATE_LIMITED:
            raise RateLimited("rate limited (JSON-RPC -32005)", endpoint=endpoint, retry_after=None)
        raise RequestRejected(f"JSON-RPC error {code}", endpoint=endpoint)
    if "result" not in body:
        raise InvalidResponse("JSON-RPC answer has no result", endpoint=endpoint)
    return body["result"]
