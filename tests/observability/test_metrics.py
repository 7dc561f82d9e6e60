"""Metrics: every series is exposed, moves when its method is called, and stays in its own registry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from walletdoctor.helius.breaker import BreakerState
from walletdoctor.helius.errors import RateLimited, UpstreamUnavailable
from walletdoctor.api.errors import response_middleware
from walletdoctor.observability import METRICS, STREAM_OUTCOMES, Metrics, metrics_handler, retry_reason
from walletdoctor.sse.event import EventName
from walletdoctor.sse.writer import StreamOutcome

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

KEY = "wd_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"

FAMILIES = {
    "walletdoctor_streams_active": "gauge",
    "walletdoctor_streams_capacity": "gauge",
    "walletdoctor_streams_started": "counter",
    "walletdoctor_streams_ended": "counter",
    "walletdoctor_stream_events": "counter",
    "walletdoctor_stream_bytes": "counter",
    "walletdoctor_stream_trades": "counter",
    "walletdoctor_stream_first_event_seconds": "histogram",
    "walletdoctor_stream_duration_seconds": "histogram",
    "walletdoctor_upstream_requests": "counter",
    "walletdoctor_upstream_rate_limited": "counter",
    "walletdoctor_upstream_retries": "counter",
    "walletdoctor_circuit_breaker_state": "gauge",
    "walletdoctor_http_requests": "counter",
    "walletdoctor_build_info": "gauge",
}


def scrape(metrics: Metrics) -> tuple[dict[str, str], Samples]:
    """Parse the text exposition: family name -> type, and every sample's value."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return types, samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(stream_capacity=40)


def test_every_family_is_exposed_with_its_type(metrics: Metrics) -> None:
    metrics.upstream_request("enhanced_parse", 200)
    metrics.upstream_retry("enhanced_parse", "rate_limited")
    metrics.breaker_state("helius", "closed")
    metrics.http_request("/health", 200)
    types, samples = scrape(metrics)
    for name, kind in FAMILIES.items():
        assert types.get(name) == kind, name
    assert value(samples, "walletdoctor_streams_capacity") == 40
    assert value(samples, "walletdoctor_build_info", version="0.1.0") == 1
    assert any(name.startswith("process_") for name in types), "process collector registered"


def test_known_label_values_exist_at_zero_from_the_start(metrics: Metrics) -> None:
    _, samples = scrape(metrics)
    for outcome in ("complete", "error", "disconnected", "stalled", "timeout", "shutdown"):
        assert ("walletdoctor_streams_ended_total", frozenset({("outcome", outcome)})) in samples
    for event in EventName:
        assert ("walletdoctor_stream_events_total", frozenset({("event", event.value)})) in samples
    for endpoint in ("rpc_signatures", "rpc_assets", "enhanced_parse", "enhanced_history"):
        assert ("walletdoctor_upstream_rate_limited_total", frozenset({("endpoint", endpoint)})) in samples


def test_every_writer_outcome_is_bound_up_front() -> None:
    assert {outcome.value for outcome in StreamOutcome} <= set(STREAM_OUTCOMES)


def test_stream_lifecycle_moves_gauge_counters_and_histograms(metrics: Metrics) -> None:
    metrics.stream_started()
    metrics.stream_started()
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_streams_active") == 2
    assert value(samples, "walletdoctor_streams_started_total") == 2
    assert metrics.active_streams == 2

    metrics.first_event(1.2)
    metrics.stream_ended(StreamOutcome.COMPLETE, 3.5)
    metrics.stream_ended("shutdown", 0.2)
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_streams_active") == 0
    assert metrics.active_streams == 0
    assert value(samples, "walletdoctor_streams_ended_total", outcome="complete") == 1
    assert value(samples, "walletdoctor_streams_ended_total", outcome="shutdown") == 1
    assert value(samples, "walletdoctor_stream_duration_seconds_count") == 2
    assert value(samples, "walletdoctor_stream_duration_seconds_sum") == pytest.approx(3.7)
    assert value(samples, "walletdoctor_stream_duration_seconds_bucket", le="0.25") == 1
    assert value(samples, "walletdoctor_stream_first_event_seconds_count") == 1
    assert value(samples, "walletdoctor_stream_first_event_seconds_bucket", le="1.0") == 0
    assert value(samples, "walletdoctor_stream_first_event_seconds_bucket", le="1.5") == 1


def test_histogram_buckets_span_ten_ms_to_ten_minutes(metrics: Metrics) -> None:
    _, samples = scrape(metrics)
    bounds = sorted(
        float(dict(labels)["le"])
        for name, labels in samples
        if name == "walletdoctor_stream_duration_seconds_bucket" and dict(labels)["le"] != "+Inf"
    )
    assert bounds[0] == 0.01 and bounds[-1] == 600.0 and 2.0 in bounds


def test_events_bytes_and_trades(metrics: Metrics) -> None:
    metrics.event_sent(EventName.TRADES, 1000)
    metrics.event_sent("trades", 500)
    metrics.event_sent(EventName.HEARTBEAT, 30)
    metrics.trades_sent(100)
    metrics.trades_sent(7)
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_stream_events_total", event="trades") == 2
    assert value(samples, "walletdoctor_stream_events_total", event="heartbeat") == 1
    assert value(samples, "walletdoctor_stream_bytes_total") == 1530
    assert value(samples, "walletdoctor_stream_trades_total") == 107


def test_upstream_requests_429s_and_retries(metrics: Metrics) -> None:
    metrics.upstream_request("enhanced_parse", 200)
    metrics.upstream_request("enhanced_parse", 429)
    metrics.upstream_request("rpc_signatures", "timeout")
    metrics.upstream_rate_limited("rpc_assets")  # JSON-RPC -32005 comes back as HTTP 200
    metrics.on_retry("enhanced_parse", RateLimited("rate limited", endpoint="enhanced_parse", retry_after=1.0))
    metrics.on_retry("rpc_signatures", UpstreamUnavailable("timed out", endpoint="rpc_signatures"))
    metrics.upstream_retry("rpc_signatures", "upstream_unavailable")
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_upstream_requests_total", endpoint="enhanced_parse", status="200") == 1
    assert value(samples, "walletdoctor_upstream_requests_total", endpoint="enhanced_parse", status="429") == 1
    assert value(samples, "walletdoctor_upstream_requests_total", endpoint="rpc_signatures", status="timeout") == 1
    assert value(samples, "walletdoctor_upstream_rate_limited_total", endpoint="enhanced_parse") == 1
    assert value(samples, "walletdoctor_upstream_rate_limited_total", endpoint="rpc_assets") == 1
    assert value(samples, "walletdoctor_upstream_retries_total", endpoint="enhanced_parse", reason="rate_limited") == 1
    assert (
        value(samples, "walletdoctor_upstream_retries_total", endpoint="rpc_signatures", reason="upstream_unavailable")
        == 2
    )


def test_retry_reason_is_the_error_class_in_snake_case() -> None:
    assert retry_reason(RateLimited("x", endpoint="e", retry_after=None)) == "rate_limited"
    assert retry_reason(TimeoutError()) == "timeout_error"


def test_breaker_gauge_accepts_the_breaker_states_and_the_hook(metrics: Metrics) -> None:
    metrics.breaker_state("helius", BreakerState.OPEN)
    metrics.breaker_state("birdeye", "half-open")
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_circuit_breaker_state", name="helius") == 2
    assert value(samples, "walletdoctor_circuit_breaker_state", name="birdeye") == 1
    metrics.on_breaker_change("helius", BreakerState.OPEN, BreakerState.HALF_OPEN)
    metrics.breaker_state("birdeye", 0)
    _, samples = scrape(metrics)
    assert value(samples, "walletdoctor_circuit_breaker_state", name="helius") == 1
    assert value(samples, "walletdoctor_circuit_breaker_state", name="birdeye") == 0
    with pytest.raises(ValueError):
        metrics.breaker_state("helius", "ajar")
    with pytest.raises(ValueError):
        metrics.breaker_state("helius", 3)


def test_each_instance_has_its_own_registry_and_nothing_is_global() -> None:
    first, second = Metrics(), Metrics()
    first.stream_started()
    _, samples = scrape(second)
    assert value(samples, "walletdoctor_streams_started_total") == 0
    assert REGISTRY.get_sample_value("walletdoctor_streams_started_total") is None


def test_openmetrics_on_request(metrics: Metrics) -> None:
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def _app(metrics: Metrics, **extra_routes: Any) -> web.Application:
    app = web.Application(middlewares=[response_middleware])
    app[METRICS] = metrics
    app.router.add_get("/metrics", metrics_handler)

    async def stream(request: web.Request) -> web.Response:
        return web.Response(text=request.match_info["address"])

    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    app.router.add_get("/v4/wallet/{address}/stream", stream)
    app.router.add_get("/broken", broken)
    for path, handler in extra_routes.items():
        app.router.add_get("/" + path, handler)
    return app


async def test_metrics_endpoint_and_http_middleware(aiohttp_client: Any, metrics: Metrics) -> None:
    client = await aiohttp_client(_app(metrics))
    assert (await client.get(f"/v4/wallet/SomeWallet/stream?api_key={KEY}")).status == 200
    assert (await client.get("/v4/wallet/OtherWallet/stream", headers={"X-API-Key": KEY})).status == 200
    assert (await client.get("/broken")).status == 503
    assert (await client.get("/nowhere")).status == 404
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert KEY not in text and "SomeWallet" not in text, "labels hold route templates, never paths or keys"
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert value(samples, "walletdoctor_http_requests_total", route="/v4/wallet/{address}/stream", status="200") == 2
    assert value(samples, "walletdoctor_http_requests_total", route="/broken", status="503") == 1
    assert value(samples, "walletdoctor_http_requests_total", route="unmatched", status="404") == 1


async def test_a_client_leaving_mid_request_counts_as_499(aiohttp_client: Any, metrics: Metrics) -> None:
    entered = asyncio.Event()

    async def forever(request: web.Request) -> web.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    client = await aiohttp_client(_app(metrics, forever=forever))
    request = asyncio.create_task(client.get("/forever"))
    await entered.wait()
    request.cancel()
    await asyncio.wait([request])
    for _ in range(200):
        _, samples = scrape(metrics)
        if value(samples, "walletdoctor_http_requests_total", route="/forever", status="499"):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the cancelled handler was not counted as 499")
