"""The real application with observability wired in: one stream against the emulator moves the
metrics, ``/health`` and ``/ready`` answer, and every log line of the stream carries its id.

These tests skip while :func:`walletdoctor.app.create_app` does not yet put
:data:`~walletdoctor.observability.METRICS` on the application.
"""

from __future__ import annotations

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
from walletdoctor.observability import HEALTH_CHECKS, METRICS, configure_logging


@pytest.fixture(autouse=True)
def _wired() -> None:
    app = create_app(Settings(_env_file=None))
    if METRICS not in app or HEALTH_CHECKS not in app:
        pytest.skip("observability is not wired into create_app yet")


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


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
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
