"""Typed application state: every resource the app shares, under one ``web.AppKey`` each."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

from walletdoctor.analytics.prices import PriceSource
from walletdoctor.config import Settings
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.breaker import UpstreamBreaker
from walletdoctor.helius.client import HeliusClient
from walletdoctor.helius.fetch import TransactionFetcher
from walletdoctor.sse.writer import StreamWriterSettings
from walletdoctor.streams.hub import FeedHub

__all__ = ["FEED_HUB", "REDIS", "SETTINGS", "UPSTREAM", "UPSTREAM_SERVICES", "WRITER_SETTINGS", "UpstreamEndpoints", "UpstreamServices"]


@dataclass(frozen=True, slots=True)
class UpstreamEndpoints:
    """Where Helius is: the real hosts, or the embedded emulator's loopback URL.

    ``api_key`` is a secret: never log it or put it in an error.
    """

    api_url: str
    rpc_url: str
    api_key: str
    embedded: bool


@dataclass(frozen=True, slots=True)
class UpstreamServices:
    """The per-process Helius client and what is built on it."""

    client: HeliusClient
    fetcher: TransactionFetcher
    tokens: TokenDirectory
    #: USD prices (Birdeye and stablecoins); ``None`` leaves trades unpriced.
    prices: PriceSource | None = None
    breaker: UpstreamBreaker | None = None


SETTINGS = web.AppKey("settings", Settings)
WRITER_SETTINGS = web.AppKey("writer_settings", StreamWriterSettings)
UPSTREAM = web.AppKey("upstream", UpstreamEndpoints)
UPSTREAM_SERVICES = web.AppKey("upstream_services", UpstreamServices)
#: The process's feeds and open streams.
FEED_HUB = web.AppKey("feed_hub", FeedHub)
#: The process's Redis pool; absent when REDIS_URL is not set.
REDIS = web.AppKey("redis", aioredis.Redis)
