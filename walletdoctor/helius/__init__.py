"""Helius: the upstream client, its fetch strategies, and an emulator of its API.

The public surface is re-exported here; ``create_fetcher`` picks the
strategy the settings name.
"""

from walletdoctor.config import FetchStrategy, Settings
from walletdoctor.helius.breaker import BreakerState, UpstreamBreaker
from walletdoctor.helius.cache import CachedHistory, MemoryCache, RedisCache, UpstreamCache
from walletdoctor.helius.client import HeliusClient, HistoryPage, create_client_session
from walletdoctor.helius.errors import (
    CircuitOpen,
    HeliusError,
    InvalidResponse,
    RateLimited,
    RequestRejected,
    SearchExhausted,
    UpstreamUnavailable,
)
from walletdoctor.helius.fetch import FetchProgress, HistorySource, TimeWindow, TransactionFetcher
from walletdoctor.helius.history import HistoryFetcher
from walletdoctor.helius.pipelined import PipelinedFetcher

__all__ = [
    "BreakerState",
    "CachedHistory",
    "CircuitOpen",
    "FetchProgress",
    "HeliusClient",
    "HeliusError",
    "HistoryFetcher",
    "HistoryPage",
    "HistorySource",
    "InvalidResponse",
    "MemoryCache",
    "PipelinedFetcher",
    "RateLimited",
    "RedisCache",
    "RequestRejected",
    "SearchExhausted",
    "TimeWindow",
    "TransactionFetcher",
    "UpstreamBreaker",
    "UpstreamCache",
    "UpstreamUnavailable",
    "create_client_session",
    "create_fetcher",
]


def create_fetcher(settings: Settings, client: HistorySource) -> TransactionFetcher:
    """The fetch strategy ``settings.fetch_strategy`` names, configured from ``settings``,
    reading ``client`` (the Helius client, or the same through a cache)."""
    if settings.fetch_strategy is FetchStrategy.HISTORY:
        return HistoryFetcher(
            client,
            vocabulary=settings.history_vocabulary,
            max_continuations=settings.history_max_continuations,
        )
    return PipelinedFetcher(client, window=settings.parse_window)
