"""The least time the emulator's latency and rate limits allow for streaming a whole wallet.

WalletDoctor's pipelined fetch lists signatures with
``getSignaturesForAddress`` (1,000 a page; each page needs the previous
page's last signature, so pages are sequential) and parses them with
``POST /v0/transactions`` (100 a request), then names tokens with DAS
``getAssetBatch`` (1,000 mints a request). Parse and DAS requests share
the enhanced budget of ``R`` requests in any 1 s span (the emulator's
``enhanced_rps``, Helius' "DAS & Enhanced" limit, counted in a sliding
window). With ``T`` transactions, ``M`` mints, RPC latency ``L_rpc``,
enhanced latency ``L_enh``::

    P = floor(T / 1000) + 1                  signature pages (the last one is short)
    ready(parse k)  = page(k) * L_rpc        a batch can be parsed once its page is listed
    ready(DAS)      = L_rpc + L_enh          mints are known from the first parse answer
    leave(k)        = max(ready(k), leave(k - R) + 1 s)
                                             requests in order of readiness; the k-th can
                                             only leave a second after the (k-R)-th left
    total bound     = max over parse requests of leave(k) + L_enh
    first trades    = L_rpc + L_enh          first page, then one parse

The schedule is the earliest possible (each request leaves as soon as both
its page and the window allow), so no client can finish sooner. Two
simpler bounds are kept beside it for reading: the *listing bound*
``P * L_rpc + L_enh`` (the last page, then the parse of its signatures)
and the *rate bound* ``L_rpc + floor((N - 1) / R) + L_enh`` for ``N``
enhanced-budget requests. Each ignores the other constraint, so the total
is at least their maximum, and more when, as for the real wallet, the
window is spent on early pages before the last pages are listed.

Base latencies are used (the emulator draws each within +-``jitter``); the
DAS look-up of the last parse answer's new mints, and Birdeye's price
look-ups (they run beside the Helius requests), are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["UpstreamBound", "upstream_bound"]

SIGNATURES_PER_PAGE = 1000
SIGNATURES_PER_PARSE = 100
MINTS_PER_ASSET_BATCH = 1000
WINDOW_S = 1.0


@dataclass(frozen=True, slots=True)
class UpstreamBound:
    """The bound and its parts, seconds and request counts."""

    total_s: float
    first_trades_s: float
    listing_s: float
    rate_s: float
    signature_pages: int
    enhanced_requests: int


def upstream_bound(transactions: int, mints: int, settings: dict[str, Any]) -> UpstreamBound:
    """The bound for a wallet of ``transactions`` touching ``mints`` mints, under emulator ``settings``
    (the JSON of ``GET /_emulator/settings``: ``rpc_latency_s``, ``enhanced_latency_s``, ``enhanced_rps``)."""
    rpc = float(settings["rpc_latency_s"])
    enhanced = float(settings["enhanced_latency_s"])
    rps = int(settings["enhanced_rps"])
    pages = transactions // SIGNATURES_PER_PAGE + 1
    parses = math.ceil(transactions / SIGNATURES_PER_PARSE)
    lookups = math.ceil(mints / MINTS_PER_ASSET_BATCH)
    requests = parses + lookups
    listing = pages * rpc + enhanced
    rate = rpc + (math.floor(max(0, requests - 1) / rps) if rps > 0 else 0) + enhanced
    batches_per_page = SIGNATURES_PER_PAGE // SIGNATURES_PER_PARSE
    # (ready at, is a parse request); at equal readiness parses were listed first.
    queue = sorted([(((k // batches_per_page) + 1) * rpc, True) for k in range(parses)] + [(rpc + enhanced, False)] * lookups,
                   key=lambda request: (request[0], not request[1]))
    departures = _earliest_departures([at for at, _ in queue], rps)
    last_parse = max((left for left, (_, is_parse) in zip(departures, queue, strict=True) if is_parse), default=0.0)
    total = max(last_parse + enhanced, listing) if parses else rpc
    return UpstreamBound(total, rpc + enhanced, listing, rate, pages, requests)


def _earliest_departures(ready: list[float], rps: int) -> list[float]:
    """Departure times of requests ready at ``ready`` (in that order, non-decreasing), at
    most ``rps`` in any ``WINDOW_S`` (0: no limit): each as early as both allow."""
    departures: list[float] = []
    for k, at in enumerate(ready):
        if rps > 0 and k >= rps:
            at = max(at, departures[k - rps] + WINDOW_S)
        departures.append(at)
    return departures
