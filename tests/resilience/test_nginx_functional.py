"""Behind real nginx, configured as config/nginx recommends: unbuffered, kept alive by heartbeats, resumable."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse

from tests.api.test_resume_functional import read_until
from tests.conftest import Emulator, ServerFactory, StreamRecord, read_stream
from tests.nginx import RECOMMENDED_SITE, NginxFactory


async def read_timed(url: str) -> tuple[StreamRecord, list[float]]:
    """A whole stream, with the arrival time (unix s) of each event."""
    events: list[Any] = []
    arrivals: list[float] = []
    async with httpx.AsyncClient(timeout=60) as client:
        async with aconnect_sse(client, "GET", url) as source:
            async for event in source.aiter_sse():
                arrivals.append(time.time())
                events.append(event)
            return StreamRecord(source.response.status_code, source.response.headers, events), arrivals


async def test_events_pass_nginx_unbuffered(emulator: Emulator, walletdoctor: ServerFactory, nginx_proxy: NginxFactory) -> None:
    """Each event arrives within 100 ms of the time the server stamped in it."""
    wallet = emulator.synthetic("nginx-unbuffered", 1500)
    emulator.settings.update({"enhanced_latency_s": 0.1, "rpc_latency_s": 0.02})
    base = await walletdoctor(heartbeat_s=0.5, parse_window=2)
    nginx = await nginx_proxy(base)
    record, arrivals = await read_timed(f"{nginx.url}/v4/wallet/{wallet}/stream?batch_size=50")
    assert record.last.event == "complete"
    delays = [
        arrival - orjson.loads(event.data)["timestamp"]
        for event, arrival in zip(record.events, arrivals, strict=True)
        if event.event in ("connected", "progress", "heartbeat")
    ]
    assert len(delays) > 10
    assert delays[0] < 0.1, f"the first event took {delays[0]:.3f} s through nginx"
    assert statistics.median(delays) < 0.1, f"events are held back: median {statistics.median(delays):.3f} s"


async def test_heartbeats_keep_a_quiet_stream_open_past_nginx_read_timeout(
    emulator: Emulator, walletdoctor: ServerFactory, nginx_proxy: NginxFactory
) -> None:
    """nginx drops an upstream that says nothing for proxy_read_timeout (2 s here); a 4 s quiet
    fetch survives with 0.5 s heartbeats, and is cut without them (the control)."""
    site = RECOMMENDED_SITE.read_text().replace("proxy_read_timeout 65s;", "proxy_read_timeout 2s;")
    assert "proxy_read_timeout 2s;" in site
    wallet = emulator.synthetic("nginx-quiet", 200)
    emulator.settings.update({"rpc_latency_s": 4.0})

    kept = await nginx_proxy(await walletdoctor(heartbeat_s=0.5), site=site)
    record = await read_stream(f"{kept.url}/v4/wallet/{wallet}/stream")
    assert record.last.event == "complete"
    assert len(record.named("heartbeat")) >= 6

    cut = await nginx_proxy(await walletdoctor(heartbeat_s=30), site=site)
    started = time.monotonic()
    seen = []
    with pytest.raises(httpx.RemoteProtocolError):  # nginx closes mid-body: the chunked body never ends
        async with httpx.AsyncClient(timeout=60) as client:
            async with aconnect_sse(client, "GET", f"{cut.url}/v4/wallet/{wallet}/stream") as source:
                async for event in source.aiter_sse():
                    seen.append(event.event)
    assert seen == ["connected"], "without heartbeats nginx ends the quiet stream"
    assert 1.9 < time.monotonic() - started < 3.9


async def test_resume_through_nginx(emulator: Emulator, walletdoctor: ServerFactory, nginx_proxy: NginxFactory) -> None:
    wallet = emulator.synthetic("nginx-resume", 1500)
    base = await walletdoctor()
    nginx = await nginx_proxy(base)
    url = f"{nginx.url}/v4/wallet/{wallet}/stream?batch_size=50"
    whole = await read_stream(url)
    cut = await read_until(url, stop_after_trades=4)
    resumed = await read_stream(url, headers={"Last-Event-ID": cut.events[-1].id})
    assert orjson.loads(resumed.events[0].data)["resumed"] is True
    assert resumed.last.event == "complete"
    assert [t["signature"] for t in cut.trades() + resumed.trades()] == [t["signature"] for t in whole.trades()]
