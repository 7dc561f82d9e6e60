"""The real application with observability wired in: streams against the emulator move every
metric of issue 4 (read back through prometheus_client's own text parser), ``/health`` and
``/ready`` answer, and every log line of a stream carries its id.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Emulator, ServerFactory, read_stream
from walletdoctor.app import create_app
from walletdoctor.config import Settings
from walletdoctor.observability import configure_logging

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    """JSON logs into a buffer for the test; the root logger and structlog are put back afterwards."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.configure(**config)


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_stream_moves_the_metrics_and_logs_with_its_id(
    emulator: Emulator, walletdoctor: ServerFactory, log_buffer: io.StringIO
) -> None:
    wallet = emulator.synthetic("observability-functional", 250)
    base = await walletdoctor()
    record = await read_stream(f"{base}/v4/wallet/{wallet}/stream?batch_size=50")
    assert record.last.event == "complete"
    stream_id = record.headers["X-Stream-ID"]

    async with httpx.AsyncClient(base_url=base) as client:
        metrics = await client.get("/metrics")
        health = await client.get("/health")
        ready = await client.get("/ready")
    assert metrics.status_code == 200
    samples = _samples(metrics.text)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("walletdoctor_streams_started_total") == 1
    assert value("walletdoctor_streams_ended_total", outcome="complete") == 1
    assert value("walletdoctor_streams_active") == 0
    trades = len(record.trades())
    events = {name: len(record.named(name)) for name in ("connected", "progress", "trades", "complete")}
    for name, count in events.items():
        assert value("walletdoctor_stream_events_total", event=name) == count, name
    assert value("walletdoctor_stream_first_event_seconds_count") == 1
    assert value("walletdoctor_stream_duration_seconds_count") == 1
    assert value("walletdoctor_stream_bytes_total") > 0
    assert trades and value("walletdoctor_stream_trades_total") == trades
    upstream = sum(v for (name, _), v in samples.items() if name == "walletdoctor_upstream_requests_total")
    assert upstream > 0, "the client reports each Helius attempt"
    assert value("walletdoctor_http_requests_total", route="/v4/wallet/{address}/stream", status="200") == 1

    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200 and ready.json()["upstream"]["state"] == "ok"

    lines = [orjson.loads(line) for line in log_buffer.getvalue().splitlines()]
    ours = [line for line in lines if line.get("stream_id") == stream_id]
    assert ours, "the stream logged with its id"
    assert all(line["wallet"] == wallet for line in ours)
    mentioning = [line for line in lines if stream_id in line["event"]]
    assert all(line.get("stream_id") == stream_id for line in mentioning), "a line about the stream lacks its id"


async def test_metrics_and_health_of_the_embedded_mode_need_no_stream(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(_env_file=None)))
    health = await client.get("/health")
    body = await health.json()
    assert body["dependencies"]["upstream"]["mode"] == "embedded emulator"
    metrics = await client.get("/metrics")
    assert "walletdoctor_build_info" in await metrics.text()


async def _scrape(client: httpx.AsyncClient) -> tuple[dict[str, str], Samples]:
    """``/metrics`` through prometheus_client's parser: family name -> type, and every sample."""
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(response.text))
    return {f.name: f.type for f in families}, {
        (sample.name, frozenset(sample.labels.items())): sample.value for f in families for sample in f.samples
    }


def _total(samples: Samples, metric: str, /, **labels: str) -> float:
    """Sum of the samples of ``metric`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == metric and wanted <= got)


#: The metrics issue 4 asks for, by family name as the parser reports it, with their type.
ISSUE_METRICS = {
    "walletdoctor_streams_active": "gauge",
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
}


async def test_every_metric_of_the_issue_is_present_and_moves(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    """One server through an open stream, a completed one, one under Helius 429s, and an outage
    that opens the circuit breaker and ends: each metric is read before and after it moves."""
    base = await walletdoctor(
        breaker_failures=2,
        breaker_recovery_s=0.5,
        helius_backoff_initial_s=0.01,
        helius_backoff_max_s=0.01,
        upstream_cache_ttl_s=0,
    )
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        types, start = await _scrape(client)
        for name, kind in ISSUE_METRICS.items():
            assert types.get(name) == kind, name
        assert _total(start, "walletdoctor_circuit_breaker_state", name="helius") == 0
        assert _total(start, "walletdoctor_streams_started_total") == 0

        # An open stream: the upstream answers its first request after 30 s.
        emulator.settings.update({"rpc_latency_s": 30.0, "latency_jitter": 0.0})
        wallet = emulator.synthetic("metrics-open", 50)
        async with client.stream("GET", f"/v4/wallet/{wallet}/stream") as response:
            async for line in response.aiter_lines():
                if line == "event: connected":
                    break
            _, during = await _scrape(client)
        emulator.settings.update({"rpc_latency_s": 0.0})
        assert _total(during, "walletdoctor_streams_active") == 1
        for _ in range(50):  # until the server has seen the client leave
            _, left = await _scrape(client)
            if _total(left, "walletdoctor_streams_active") == 0:
                break
            await asyncio.sleep(0.1)
        assert _total(left, "walletdoctor_streams_active") == 0
        assert _total(left, "walletdoctor_streams_ended_total", outcome="disconnected") == 1

        # A whole stream: events, bytes, trades and both histograms.
        record = await read_stream(f"{base}/v4/wallet/{emulator.synthetic('metrics-complete', 250)}/stream")
        assert record.last.event == "complete"
        _, done = await _scrape(client)
        assert _total(done, "walletdoctor_streams_ended_total", outcome="complete") == 1
        for event in ("connected", "progress", "trades", "complete"):
            assert _total(done, "walletdoctor_stream_events_total", event=event) - _total(
                left, "walletdoctor_stream_events_total", event=event
            ) == len(record.named(event)), event
        assert _total(done, "walletdoctor_stream_bytes_total") > _total(left, "walletdoctor_stream_bytes_total") > 0
        assert _total(done, "walletdoctor_stream_trades_total") == len(record.trades()) > 0
        assert _total(done, "walletdoctor_stream_first_event_seconds_count") == 1
        assert _total(done, "walletdoctor_stream_first_event_seconds_sum") > 0
        assert _total(done, "walletdoctor_stream_duration_seconds_count") == 2  # the open one and this one
        assert _total(done, "walletdoctor_upstream_requests_total", endpoint="enhanced_parse", status="200") > 0
        assert _total(done, "walletdoctor_upstream_requests_total", endpoint="rpc_signatures", status="200") > 0

        # Helius rate-limits: a parse batch and a symbol look-up share one request a second.
        emulator.settings.update({"enhanced_rps": 1, "retry_after": True})
        limited = await read_stream(f"{base}/v4/wallet/{emulator.synthetic('metrics-429', 100)}/stream")
        emulator.settings.update({"enhanced_rps": 0})
        _, throttled = await _scrape(client)
        rate_limited = _total(throttled, "walletdoctor_upstream_rate_limited_total")
        assert rate_limited > 0
        assert _total(throttled, "walletdoctor_upstream_requests_total", status="429") == rate_limited
        assert _total(throttled, "walletdoctor_upstream_retries_total", reason="rate_limited") > 0
        assert limited.last.event == "complete", "retried until served"

        # An outage: failed streams open the breaker; after it, a stream closes it again.
        emulator.settings.update({"server_error_ratio": 1.0})
        for n in range(2):
            failed = await read_stream(f"{base}/v4/wallet/{emulator.synthetic(f'metrics-down-{n}', 50)}/stream")
            assert orjson.loads(failed.last.data)["code"] == "UPSTREAM_UNAVAILABLE"
        _, outage = await _scrape(client)
        assert _total(outage, "walletdoctor_circuit_breaker_state", name="helius") == 2
        assert _total(outage, "walletdoctor_upstream_retries_total", reason="upstream_unavailable") > 0
        assert (
            sum(_total(outage, "walletdoctor_upstream_requests_total", status=str(c)) for c in (500, 502, 503, 504)) > 0
        )
        assert _total(outage, "walletdoctor_streams_ended_total", outcome="error") >= 2
        emulator.settings.update({"server_error_ratio": 0.0})
        await asyncio.sleep(0.5)
        recovered = await read_stream(f"{base}/v4/wallet/{emulator.synthetic('metrics-back', 50)}/stream")
        assert recovered.last.event == "complete"
        _, end = await _scrape(client)
        assert _total(end, "walletdoctor_circuit_breaker_state", name="helius") == 0
        assert _total(end, "walletdoctor_streams_started_total") == 6


async def test_stream_capacity_setting_is_exported_for_the_capacity_alert(aiohttp_client: Any) -> None:
    unset = await aiohttp_client(create_app(Settings(_env_file=None)))
    sized = await aiohttp_client(create_app(Settings(_env_file=None, stream_capacity=400)))
    assert _total(_samples(await (await unset.get("/metrics")).text()), "walletdoctor_streams_capacity") == 0
    assert _total(_samples(await (await sized.get("/metrics")).text()), "walletdoctor_streams_capacity") == 400
