"""The least time the emulator's latency and rate limits allow for streaming a whole wallet.

WalletDoctor's pipelined fetch lists signatures with
``getSignaturesForAddress`` (1,000 a page; each page needs the previous
page's last signature, so pages are sequential) and parses them with
``POST /v0/transactions`` (100 a request), then names tokens with DAS
``getAssetBatch`` (1,000 mints a request). Parse and DAS requests share
the enhanced budget of ``R`` requests in any 1 s span (the emulator's
``enhanced_rps``, Helius' "DAS & Enhanced" limit). With ``T``
transactions, ``M`` mints, RPC latency ``L_rpc``, enhanced latency
``L_enh``::

    P = floor(T / 1000) + 1                  signature pages (the last one is short)
    N = ceil(T / 100) + ceil(M / 1000)       enhanced-budget requests
    listing bound = P * L_rpc + L_enh        last page, then the parse of its signatures
    rate bound    = L_rpc + floor((N - 1) / R) + L_enh
                                             N requests need floor((N-1)/R) s after the
                                             first, which waits for the first page
    total bound   = max(listing bound, rate bound)
    first trades  = L_rpc + L_enh            first page, then one parse

Base latencies are used (the emulator draws each within +-``jitter``), and
Birdeye price look-ups are left out: they run beside the Helius requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["UpstreamBound", "upstream_bound"]

SIGNATURES_PER_PAGE = 1000
SIGNATURES_PER_PARSE = 100
MINTS_PER_ASSET_BATCH = 1000


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
    requests = math.ceil(transactions / SIGNATURES_PER_PARSE) + math.ceil(mints / MINTS_PER_ASSET_BATCH)
    listing = pages * rpc + enhanced
    rate = rpc + (math.floor((requests - 1) / rps) if rps > 0 else 0) + enhanced
    return UpstreamBound(max(listing, rate), rpc + enhanced, listing, rate, pages, requests)
