"""The stream endpoint over real loopback HTTP, against the in-process Helius emulator."""

from __future__ import annotations

import asyncio
import re
import socket
import time

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse

from tests.conftest import REAL_WALLET, Emulator, ServerFactory, read_stream


async def test_event_order_and_wire_format(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("wire-format", 730)
    base = await walletdoctor()
    record = await read_stream(f"{base}/v4/wallet/{wallet}/stream?batch_size=25")

    assert record.status == 200
    assert record.headers["content-type"].startswith("text/event-stream")
    assert record.headers["cache-control"] == "no-cache"
    assert record.headers["x-accel-buffering"] == "no"
    stream_id = record.headers["x-stream-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", stream_id)

    names = [e.event for e in record.events]
    assert names[0] == "connected"
    assert names[-1] == "complete"
    assert set(names) <= {"connected", "progress", "trades", "heartbeat", "complete"}
    assert "progress" in names and "trades" in names
    assert record.events[0].retry == 3000

    connected = orjson.loads(record.events[0].data)
    assert connected["stream_id"] == stream_id
    assert connected["wallet"] == wallet
    assert connected["resumed"] is False

    sequence = [int(e.id.split(":")[1]) for e in record.events if e.event != "heartbeat"]
    assert all(e.id.startswith(f"{stream_id}:") for e in record.events if e.event != "heartbeat")
    assert sequence == sorted(set(sequence)) and sequence[0] == 1

    batches = record.data("trades")
    sizes = [len(b["trades"]) for b in batches]
    assert all(size == 25 for size in sizes[:-1]) and 0 < sizes[-1] <= 25
    assert [b["batch_num"] for b in batches] == list(range(1, len(batches) + 1))
    assert [b["total_yielded"] for b in batches] == [sum(sizes[: i + 1]) for i in range(len(sizes))]
    assert all(b["has_more"] for b in batches[:-1]) and batches[-1]["has_more"] is False

    trades = record.trades()
    complete = record.data("complete")[0]
    assert complete["trades_found"] == len(trades) > 0
    assert len({t["signature"] for t in trades}) == len(trades)
    timestamps = [t["timestamp"] for t in trades]
    assert timestamps == sorted(timestamps, reverse=True), "trades stream newest first"
    progress = record.data("progress")
    assert progress[-1]["transactions_scanned"] == 730
    assert progress[-1]["percentage"] == 100.0


async def test_each_data_line_is_one_json_document(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("raw-bytes", 120)
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/v4/wallet/{wallet}/stream")
    body = response.content
    assert b"\r" not in body
    assert body.startswith(b"retry: 3000\nid: ")
    for line in body.split(b"\n"):
        if line.startswith(b"data: "):
            orjson.loads(line[len(b"data: ") :])


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v4/wallet/not-a-wallet/stream", "INVALID_ADDRESS"),
        (f"/v4/wallet/{REAL_WALLET}/stream?batch_size=0", "INVALID_REQUEST"),
        (f"/v4/wallet/{REAL_WALLET}/stream?since=abc", "INVALID_REQUEST"),
    ],
)
async def test_invalid_requests_get_400_json_before_any_stream(
    walletdoctor: ServerFactory, emulator: Emulator, path: str, code: str
) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        response = await client.get(base + path)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["retryable"] is False and body["error"]
    assert emulator.stats.last_seq == 0, "nothing was fetched upstream"


async def test_heartbeats_arrive_on_a_quiet_stream(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("quiet", 50)
    emulator.settings.update({"rpc_latency_s": 1.2, "latency_jitter": 0.0})
    base = await walletdoctor(heartbeat_s=0.2)
    record = await read_stream(f"{base}/v4/wallet/{wallet}/stream")
    names = [e.event for e in record.events]
    first_progress = names.index("progress")
    heartbeats = [e for e in record.events[:first_progress] if e.event == "heartbeat"]
    assert len(heartbeats) >= 3
    assert all(not e.id or e.id == record.events[0].id for e in heartbeats), "heartbeats carry no id of their own"
    assert all(isinstance(orjson.loads(e.data)["timestamp"], float) for e in heartbeats)
    assert names[-1] == "complete"


async def test_disconnect_stops_upstream_requests_and_leaves_no_task(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("leaver", 20_000)
    emulator.settings.update({"enhanced_latency_s": 0.3, "rpc_latency_s": 0.05})
    base = await walletdoctor(parse_window=8)
    async with httpx.AsyncClient(timeout=30) as client:
        async with aconnect_sse(client, "GET", f"{base}/v4/wallet/{wallet}/stream?batch_size=10") as source:
            seen_trades = False
            async for event in source.aiter_sse():
                seen_trades = seen_trades or event.event == "trades"
                if seen_trades and emulator.stats.in_flight > 0:
                    break  # leave while upstream requests of this stream are running
            assert emulator.stats.in_flight > 0
    left = time.monotonic()

    while emulator.stats.in_flight and time.monotonic() - left < 1.0:
        await asyncio.sleep(0.01)
    assert emulator.stats.in_flight == 0, "upstream requests still running 1 s after the client left"
    settled = emulator.stats.last_seq
    await asyncio.sleep(0.5)
    late = emulator.stats.requests_since(settled)
    assert late == [], f"upstream requests still starting after the client left: {late[:3]}"
    producers = [t for t in asyncio.all_tasks() if t.get_name().startswith(("feed-producer:", "feed-tail:"))]
    assert producers == []


async def test_a_client_that_stops_reading_does_not_grow_the_server(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    """The feed's lookahead stops the fetch for a stuck reader: upstream requests plateau."""
    wallet = emulator.synthetic("stuck-reader", 20_000)
    base = await walletdoctor(parse_window=4, feed_lookahead=4, write_timeout_s=60)
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    await loop.sock_sendall(sock, f"GET /v4/wallet/{wallet}/stream?batch_size=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    try:
        # Kernel socket buffers (autotuned up to tcp_wmem's few MB) absorb some
        # events first; then the writer blocks, the queue fills and the fetch stops.
        samples = [-1, emulator.parse_requests]
        for _ in range(30):
            if samples[-1] == samples[-2]:
                break
            await asyncio.sleep(1.0)
            samples.append(emulator.parse_requests)
        assert samples[-1] == samples[-2], f"the fetch kept going for a client that reads nothing: {samples}"
        await asyncio.sleep(1.0)
        parsed_late = emulator.parse_requests
        assert parsed_late == samples[-1]
        # 200 parse batches make the whole wallet; socket buffers hold some trades, not the history.
        assert parsed_late < 150, "the fetch ran through the history for a client that reads nothing"
    finally:
        sock.close()


async def test_an_http_1_0_client_gets_an_unchunked_stream(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    """Regression: declaring ``Transfer-Encoding: chunked`` up front (to size the header
    table once) broke HTTP/1.0 clients such as nginx's default upstream, whose body
    cannot be chunked."""
    wallet = emulator.synthetic("http-1.0", 150)
    base = await walletdoctor()
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /v4/wallet/{wallet}/stream HTTP/1.0\r\nHost: x\r\n\r\n".encode())
    raw = await asyncio.wait_for(reader.read(), 30)  # the body ends with the connection
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower()
    assert body.startswith(b"retry: ") and b"\nevent: complete\n" in body
