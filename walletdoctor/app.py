"""The application factory: routes, middlewares, and one cleanup context per resource.

Resources start in dependency order and stop in reverse:

1. the upstream: real Helius when ``HELIUS_API_KEY`` is set, else the
   embedded emulator on a loopback port serving the bundled real wallet;
2. the Helius ``ClientSession`` with the client, fetch strategy and
   symbol directory built on it (and the upstream cache: Redis, or memory);
3. the feed hub, where every stream's fetch runs (and, with Redis, the
   feed store that lets another process resume a stream).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import ClientSession, web

from walletdoctor.analytics.prices import BirdeyePrices, PriceChain, StablecoinPrices
from walletdoctor.api.errors import response_middleware
from walletdoctor.api.hardening import add_security_headers, allow_origins
from walletdoctor.api.openapi import add_openapi_route
from walletdoctor.api.stream import stream_wallet
from walletdoctor.api.summary import wallet_summary
from walletdoctor.appkeys import (
    FEED_HUB,
    REDIS,
    SETTINGS,
    UPSTREAM,
    UPSTREAM_SERVICES,
    WRITER_SETTINGS,
    UpstreamEndpoints,
    UpstreamServices,
)
from walletdoctor.birdeye import BirdeyeClient
from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX, birdeye_emulator_of
from walletdoctor.config import Settings
from walletdoctor.helius import create_client_session, create_fetcher
from walletdoctor.helius.assets import TokenDirectory
from walletdoctor.helius.breaker import UpstreamBreaker
from walletdoctor.helius.cache import CachedHistory, MemoryCache, RedisCache, UpstreamCache
from walletdoctor.helius.client import HeliusClient
from walletdoctor.helius.emulator.server import start_emulator
from walletdoctor.helius.emulator.settings import EmulatorSettings
from walletdoctor.observability import (
    HEALTH_CHECKS,
    METRICS,
    HealthChecks,
    Metrics,
    UpstreamState,
    health_handler,
    metrics_handler,
    ready_handler,
)
from walletdoctor.security import (
    AUTH_POLICY,
    STREAM_LEASES,
    AuthPolicy,
    KeyStore,
    LeaseStore,
    MemoryLeaseStore,
    RateLimiter,
    RedisLeaseStore,
    auth_middleware,
    connect_redis,
)
from walletdoctor.sse.writer import StreamWriterSettings
from walletdoctor.streams import Feed, FeedHub, HubSettings, RedisFeedStore, TradePipeline
from walletdoctor.web import add_page_routes

__all__ = ["EMBEDDED_API_KEY", "create_app"]

log = logging.getLogger(__name__)

#: The emulator accepts any key; this one marks requests of the embedded mode.
EMBEDDED_API_KEY = "embedded-emulator"


def create_app(settings: Settings, *, upstream: UpstreamEndpoints | None = None) -> web.Application:
    """Build the WalletDoctor application.

    Args:
        settings: validated settings.
        upstream: where Helius is; by default real Helius with
            ``settings.helius_api_key``, or the embedded emulator without one.
            Tests pass an emulator they started themselves.
    """
    metrics = Metrics(stream_capacity=settings.stream_capacity or None)
    app = web.Application(
        middlewares=[response_middleware, auth_middleware],
        client_max_size=settings.max_request_bytes,
    )
    app[METRICS] = metrics
    app[HEALTH_CHECKS] = HealthChecks(
        active_streams=lambda: metrics.active_streams,
        upstream_state=lambda: _upstream_state(app),
        redis_ping=(lambda: app[REDIS].ping()) if settings.redis_url is not None else None,
    )
    app.on_response_prepare.append(add_security_headers)
    app[SETTINGS] = settings
    app[WRITER_SETTINGS] = StreamWriterSettings(
        heartbeat_s=settings.heartbeat_s,
        retry_ms=settings.retry_ms,
        write_timeout_s=settings.write_timeout_s,
        stream_timeout_s=settings.stream_timeout_s,
    )
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_security)
    if upstream is not None:
        app[UPSTREAM] = upstream
    else:
        app.cleanup_ctx.append(_upstream_endpoints)
    app.cleanup_ctx.append(_upstream_services)
    app.cleanup_ctx.append(_feeds)
    app.on_shutdown.append(_end_open_streams)
    app.router.add_get("/v4/wallet/{address}/stream", stream_wallet)
    app.router.add_get("/v4/wallet/{address}/summary", wallet_summary)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/health", health_handler)
    app.router.add_get("/ready", ready_handler)
    add_openapi_route(app)
    allow_origins(app, settings.origins)
    # The page and its files are same-origin only: registered after CORS.
    add_page_routes(app)
    return app


def _upstream_state(app: web.Application) -> UpstreamState:
    upstream = app.get(UPSTREAM)
    services = app.get(UPSTREAM_SERVICES)
    mode = "helius" if upstream is not None and not upstream.embedded else "embedded emulator"
    breaker = services.breaker.state if services is not None and services.breaker is not None else None
    return UpstreamState(mode=mode, breaker=breaker)


async def _end_open_streams(app: web.Application) -> None:
    told = app[FEED_HUB].shut_down(app[SETTINGS].retry_ms)
    log.info("shutting down: told %d open streams to reconnect elsewhere", told)


async def _redis(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    if url is None:
        yield
        return
    # The URL may hold a password: never log it.
    client = connect_redis(url.get_secret_value(), socket_timeout_s=app[SETTINGS].redis_timeout_s)
    app[REDIS] = client
    log.info("shared state in Redis")
    try:
        yield
    finally:
        await client.aclose()


async def _security(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keys = KeyStore.load(settings.api_keys, settings.api_keys_file)
    redis = app.get(REDIS)
    leases: LeaseStore
    if redis is not None:
        limiter = RateLimiter.with_redis(
            redis, limit=settings.rate_limit_per_minute, timeout_s=settings.redis_timeout_s
        )
        leases = RedisLeaseStore(
            redis,
            max_streams=settings.max_streams_per_key,
            lease_ttl_s=settings.stream_lease_ttl_s,
            timeout_s=settings.redis_timeout_s,
        )
    else:
        limiter = RateLimiter.in_memory(limit=settings.rate_limit_per_minute)
        leases = MemoryLeaseStore(max_streams=settings.max_streams_per_key)
    app[AUTH_POLICY] = AuthPolicy(keys=keys, limiter=limiter, require_keys=settings.production)
    app[STREAM_LEASES] = leases
    try:
        yield
    finally:
        await limiter.aclose()


async def _upstream_endpoints(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.helius_api_key is not None:
        app[UPSTREAM] = UpstreamEndpoints(
            api_url=settings.helius_api_url,
            rpc_url=settings.helius_rpc_url,
            api_key=settings.helius_api_key.get_secret_value(),
            embedded=False,
        )
        log.info("upstream: Helius at %s", settings.helius_api_url)
        yield
        return
    emulator_settings = EmulatorSettings(
        rpc_latency_s=settings.emulator_rpc_latency_s,
        das_latency_s=settings.emulator_rpc_latency_s,
        enhanced_latency_s=settings.emulator_enhanced_latency_s,
    )
    async with start_emulator(emulator_settings) as (base_url, emulator_app):
        birdeye_emulator_of(emulator_app).latency_s = settings.emulator_birdeye_latency_s
        app[UPSTREAM] = UpstreamEndpoints(
            api_url=base_url, rpc_url=base_url, api_key=EMBEDDED_API_KEY, embedded=True
        )
        log.info(
            "no HELIUS_API_KEY set: serving the bundled real wallet from the embedded Helius emulator at %s",
            base_url,
        )
        yield


def _price_source(session: ClientSession, settings: Settings, upstream: UpstreamEndpoints) -> PriceChain:
    """Stablecoins at 1 USD, then Birdeye's history: the embedded emulator's recorded
    prices with no key set, real Birdeye with ``BIRDEYE_API_KEY``, none otherwise."""
    if settings.birdeye_api_key is not None:
        url, key = settings.birdeye_api_url, settings.birdeye_api_key.get_secret_value()
    elif upstream.embedded:
        url, key = upstream.api_url + BIRDEYE_PREFIX, upstream.api_key
    else:
        # The emulator's prices belong to the recorded wallet, not to real ones.
        return PriceChain(StablecoinPrices())
    client = BirdeyeClient.from_settings(session, settings, base_url=url, api_key=key)
    return PriceChain(StablecoinPrices(), BirdeyePrices(client))


async def _upstream_services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    upstream = app[UPSTREAM]
    session = create_client_session(settings.helius_connections)
    try:
        metrics = app[METRICS]
        breaker = UpstreamBreaker(
            "helius",
            failure_threshold=settings.breaker_failures,
            recovery_s=settings.breaker_recovery_s,
            on_state_change=metrics.on_breaker_change,
        )
        metrics.breaker_state("helius", breaker.state)
        client = HeliusClient.from_settings(
            session,
            settings,
            api_url=upstream.api_url,
            rpc_url=upstream.rpc_url,
            api_key=upstream.api_key,
            breaker=breaker,
            on_retry=metrics.on_retry,
            on_response=metrics.upstream_request,
        )
        cache = _upstream_cache(app)
        tokens = TokenDirectory.with_redis(client, app.get(REDIS))
        prices = _price_source(session, settings, upstream)
        app[UPSTREAM_SERVICES] = UpstreamServices(
            client=client,
            fetcher=create_fetcher(settings, client if cache is None else CachedHistory(client, cache)),
            tokens=tokens,
            prices=prices,
            breaker=breaker,
        )
        try:
            yield
        finally:
            # Look-ups outlive the streams that asked for them (others may
            # wait for them too); none may outlive the session they use.
            await tokens.aclose()
            await prices.aclose()
    finally:
        await session.close()


def _upstream_cache(app: web.Application) -> UpstreamCache | None:
    """Redis when configured, else memory; ``None`` when the settings turn caching off."""
    settings = app[SETTINGS]
    redis = app.get(REDIS)
    if settings.upstream_cache_ttl_s <= 0:
        return None
    if redis is not None:
        return RedisCache(redis, settings.upstream_cache_ttl_s)
    if settings.upstream_cache_bytes <= 0:
        return None
    return MemoryCache(settings.upstream_cache_bytes, settings.upstream_cache_ttl_s)


async def _feeds(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    services = app[UPSTREAM_SERVICES]
    redis = app.get(REDIS)
    store = None
    if redis is not None:
        store = RedisFeedStore(
            redis,
            instance_id=uuid.uuid4().hex,
            retention_s=settings.resume_ttl_s,
            owner_ttl_s=settings.feed_owner_ttl_s,
            max_events=settings.resume_max_events,
        )

    def produce(feed: Feed) -> Coroutine[Any, Any, None]:
        return TradePipeline(feed, services.fetcher, services.tokens, services.prices).run()

    hub = FeedHub(
        produce,
        HubSettings(
            retention_s=settings.resume_ttl_s,
            budget_bytes=settings.feed_buffer_bytes,
            lookahead=settings.feed_lookahead,
            idle_bytes=settings.resume_memory_bytes,
        ),
        store=store,
    )
    app[FEED_HUB] = hub
    hub.start()
    try:
        yield
    finally:
        await hub.aclose()
