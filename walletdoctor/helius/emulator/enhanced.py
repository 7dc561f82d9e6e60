"""The API host of the emulator: parsed transaction history and batch parsing (Enhanced Transactions API).

Pure functions returning ``(http_status, json_payload)``; the HTTP side
(api-key, rate limit, latency, faults other than omissions) lives in
``app.py``. Errors are ``{"error": "<text>"}`` with HTTP 400, except the
type-filter "Failed to find events" answer (FACTS §1.3), which is HTTP 200
(or 404 with ``search_error_as_404``).

History paging (FACTS §1.2, §1.3) accepts both parameter vocabularies:

- ``before`` / ``before-signature``: only transactions older than it;
- ``until`` / ``after-signature``: only transactions newer than it;
- ``sort-order``: ``desc`` (default, newest first; page on with
  ``before-signature`` = last item) or ``asc`` (oldest first; page on with
  ``after-signature`` = last item);
- ``gt-``/``gte-``/``lt-``/``lte-`` ``time`` (unix seconds) or ``slot``,
  not both kinds at once; ``type`` and ``source`` filters; ``limit`` 1..100.

With a ``type`` or ``source`` filter one request scans at most
``history_search_window`` transactions; if none of them match and more
remain, the answer is ``{"error": "Failed to find events within the search
period. To continue search, query the API again with the `before-signature`
parameter set to <sig>."}`` (HTTP 200), ``<sig>`` being the last scanned
signature; with ``search_error_as_404`` it is HTTP 404 and says "the
`before` parameter" (the older wording, FACTS §1.3). The wording is the
same in ``asc`` order, where the client resumes with ``after-signature``.

Giving both spellings of one cursor (``before`` and ``before-signature``) is
a 400, as is a cursor signature the wallet does not have.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from typing import Any

import orjson

from walletdoctor.helius.emulator.faults import FaultInjector
from walletdoctor.helius.emulator.history import WalletBook, WalletHistory
from walletdoctor.helius.emulator.settings import EmulatorSettings

__all__ = ["DEFAULT_HISTORY_LIMIT", "MAX_HISTORY_LIMIT", "MAX_PARSE_SIGNATURES", "history_page", "parse_transactions"]

DEFAULT_HISTORY_LIMIT = 10  # FACTS §1.2: the docs table's default
MAX_HISTORY_LIMIT = 100  # FACTS §1.2: OpenAPI limitNewParam
MAX_PARSE_SIGNATURES = 100  # FACTS §1.4: ParseTransactionsRequest.maxItems

_SEARCH_ERROR = (
    "Failed to find events within the search period. To continue search, "
    "query the API again with the `{param}` parameter set to {signature}."
)
_RANGE_OPS = ("gt", "gte", "lt", "lte")

Reply = tuple[int, Any]


class _BadQuery(ValueError):
    pass


def history_page(
    history: WalletHistory | None, query: Mapping[str, str], settings: EmulatorSettings, faults: FaultInjector
) -> Reply:
    """One page of ``GET /v0/addresses/{address}/transactions`` for ``history`` (``None``: none).

    Returns ``(200, [enhanced transaction, ...])`` (``[]`` past the end),
    ``(400, {"error": ...})`` for a bad parameter, or the "Failed to find
    events" answer when a ``type``/``source`` filter matched nothing within
    ``settings.history_search_window`` scanned transactions and more remain.
    """
    try:
        return _history_page(history, query, settings, faults)
    except _BadQuery as exc:
        return 400, {"error": str(exc)}


def _history_page(
    history: WalletHistory | None, query: Mapping[str, str], settings: EmulatorSettings, faults: FaultInjector
) -> Reply:
    limit = _integer(query, "limit", DEFAULT_HISTORY_LIMIT)
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise _BadQuery(f"limit must be between 1 and {MAX_HISTORY_LIMIT}")
    order = query.get("sort-order", "desc")
    if order not in ("asc", "desc"):
        raise _BadQuery("sort-order must be asc or desc")
    if query.get("commitment", "finalized") not in ("confirmed", "finalized"):
        raise _BadQuery("commitment must be confirmed or finalized")
    older_than = _one_of(query, "before-signature", "before")
    newer_than = _one_of(query, "after-signature", "until")
    wanted_type, wanted_source = query.get("type"), query.get("source")
    field = _time_or_slot(query)
    if history is None:
        return 200, []

    start, stop = 0, len(history)  # indices into the newest-first history
    if older_than is not None:
        start = _position(history, older_than) + 1
    if newer_than is not None:
        stop = min(stop, _position(history, newer_than))
    if field is not None and start < stop:
        start, stop = _narrow(history, field[0], field[1], start, stop)
    indices = range(start, stop) if order == "desc" else range(stop - 1, start - 1, -1)

    if wanted_type is None and wanted_source is None:
        txs = [history.transaction(i) for i in indices[:limit]]
        return 200, faults.omit(txs, keep_one=True)

    # Helius filters at run time, scanning a bounded window per request
    # (FACTS §1.3); an empty window is an error, not an empty page.
    wanted_type = wanted_type.upper() if wanted_type else None
    wanted_source = wanted_source.upper() if wanted_source else None
    window = settings.history_search_window
    txs, scanned = [], 0
    for i in indices[:window]:
        scanned += 1
        tx = history.transaction(i)
        if (wanted_type is None or tx.get("type") == wanted_type) and (
            wanted_source is None or tx.get("source") == wanted_source
        ):
            txs.append(tx)
            if len(txs) == limit:
                break
    if txs or scanned < window or scanned == len(indices):
        return 200, faults.omit(txs, keep_one=True)
    last = history.signature_info(indices[scanned - 1])["signature"]
    if settings.search_error_as_404:
        return 404, {"error": _SEARCH_ERROR.format(param="before", signature=last)}
    return 200, {"error": _SEARCH_ERROR.format(param="before-signature", signature=last)}


def parse_transactions(body: bytes, book: WalletBook, faults: FaultInjector) -> Reply:
    """``POST /v0/transactions``: body ``{"transactions": [signature, ...]}`` (at most 100).

    Returns ``(200, [enhanced transaction, ...])`` in request order, unknown
    signatures left out (and, with ``incomplete_ratio``, some known ones
    too), or ``(400, {"error": ...})`` for a bad body.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 400, {"error": "request body must be JSON"}
    signatures = payload.get("transactions") if isinstance(payload, dict) else None
    if not isinstance(signatures, list) or not all(isinstance(s, str) for s in signatures):
        return 400, {"error": 'body must be {"transactions": [signature, ...]}'}
    if len(signatures) > MAX_PARSE_SIGNATURES:
        return 400, {"error": f"at most {MAX_PARSE_SIGNATURES} transactions per request"}
    # Encoded once, in the fixture: an answer joins them (``orjson.Fragment``)
    # instead of decoding and encoding 100 transactions, which kept answers due
    # at once waiting for each other by tens of ms, beyond the latency drawn.
    txs = [orjson.Fragment(tx) for tx in map(book.find_transaction_json, signatures) if tx is not None]
    return 200, faults.omit(txs, keep_one=False)


def _integer(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadQuery(f"{name} must be an integer") from None


def _one_of(query: Mapping[str, str], name: str, old_name: str) -> str | None:
    if name in query and old_name in query:
        raise _BadQuery(f"give {name} or {old_name}, not both")
    return query.get(name) or query.get(old_name) or None


def _position(history: WalletHistory, signature: str) -> int:
    index = history.index_of(signature)
    if index is None:
        raise _BadQuery(f"signature {signature} is not in this address's history")
    return index


def _time_or_slot(query: Mapping[str, str]) -> tuple[str, dict[str, int]] | None:
    """The range filter given: ``("blockTime" | "slot", {"gt": n, "lte": m, ...})``, or ``None``."""
    found: dict[str, dict[str, int]] = {}
    for kind in ("time", "slot"):
        for op in _RANGE_OPS:
            name = f"{op}-{kind}"
            if name in query:
                found.setdefault(kind, {})[op] = _integer(query, name, 0)
    if len(found) > 1:
        raise _BadQuery("time and slot filters cannot be combined")
    if "time" in found:
        return "blockTime", found["time"]
    if "slot" in found:
        return "slot", found["slot"]
    return None


def _narrow(history: WalletHistory, key: str, bounds: dict[str, int], start: int, stop: int) -> tuple[int, int]:
    # Newest first, so slot and blockTime never increase with the index and
    # their negation never decreases: each bound is one binary search.
    def negated(i: int) -> int:
        return -int(history.signature_info(i)[key])  # type: ignore[literal-required]

    for op, bound in bounds.items():
        indices = range(start, stop)
        if op == "gt":  # keep the newer prefix with value > bound
            stop = start + bisect_left(indices, -bound, key=negated)
        elif op == "gte":
            stop = start + bisect_right(indices, -bound, key=negated)
        elif op == "lt":  # keep the older suffix with value < bound
            start += bisect_right(indices, -bound, key=negated)
        else:
            start += bisect_left(indices, -bound, key=negated)
    return start, max(start, stop)
