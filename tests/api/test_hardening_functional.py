"""Security headers, CORS allow-list, JSON errors, and request limits on the running app
(the header limits through a real ``walletdoctor serve``, where they are set)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.conftest import REAL_WALLET, Emulator, ServerFactory, read_stream
from tests.servers import Process, start_serve_process


async def test_security_headers_on_errors_and_streams(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("headers", 10)
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        for url in (f"{base}/v4/wallet/bad/stream", f"{base}/v4/wallet/{wallet}/stream", f"{base}/nowhere"):
            response = await client.get(url)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"


async def test_cors_allows_only_listed_origins(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    base = await walletdoctor(allowed_origins="https://app.example")
    url = f"{base}/v4/wallet/{REAL_WALLET}/stream?batch_size=0"
    async with httpx.AsyncClient() as client:
        allowed = await client.get(url, headers={"Origin": "https://app.example"})
        other = await client.get(url, headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            url,
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


async def test_unknown_routes_and_methods_are_json(walletdoctor: ServerFactory) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{base}/v3/wallet/x")
        wrong_method = await client.post(f"{base}/v4/wallet/{REAL_WALLET}/stream", content=b"{}")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "internal" not in missing.text.lower()


async def _exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes over one connection; read the whole answer: (status, headers, body)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()  # every request says Connection: close
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def _get(path: str, *, extra: bytes = b"", body: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: wd\r\nConnection: close\r\n" + extra + b"\r\n" + body


LIMIT = 4096


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """``walletdoctor serve`` with request limits of 4 KiB, so the boundaries are cheap to reach."""
    server = start_serve_process(
        tmp_path_factory.mktemp("limits") / "serve.log", MAX_REQUEST_BYTES=str(LIMIT), MAX_HEADER_BYTES=str(LIMIT)
    )
    try:
        yield server
    finally:
        server.stop()


async def test_header_and_request_line_limits_of_walletdoctor_serve(limited_server: Process) -> None:
    url = limited_server.url
    fits = b"X-Padding: " + b"p" * (LIMIT - 100) + b"\r\n"
    too_long = b"X-Padding: " + b"p" * (LIMIT + 100) + b"\r\n"
    assert (await _exchange(url, _get("/health", extra=fits)))[0] == 200
    status, headers, body = await _exchange(url, _get("/health", extra=too_long))
    assert status == 400 and b"Traceback" not in body and b"walletdoctor" not in body
    status, _, body = await _exchange(url, _get("/health?" + "q" * (LIMIT + 100)))
    assert status == 400 and b"Traceback" not in body
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    assert (await _exchange(url, _get("/health", extra=many)))[0] == 400, "aiohttp's cap of 128 header lines"


async def test_a_body_over_the_limit_is_refused_with_413_before_any_handler(limited_server: Process) -> None:
    url = limited_server.url
    stream = f"/v4/wallet/{REAL_WALLET}/stream"
    fits = b"b" * LIMIT
    status, _, _ = await _exchange(url, _get("/health", extra=b"Content-Length: %d\r\n" % len(fits), body=fits))
    assert status == 200

    over = b"b" * (LIMIT + 1)
    status, headers, body = await _exchange(url, _get(stream, extra=b"Content-Length: %d\r\n" % len(over), body=over))
    assert status == 413 and headers["connection"] == "close"
    assert orjson.loads(body) == {
        "error": f"request body too large: at most {LIMIT} bytes",
        "code": "PAYLOAD_TOO_LARGE",
        "retryable": False,
        "details": {"max_bytes": LIMIT},
    }
    assert headers["x-content-type-options"] == "nosniff"

    chunks = b"".join(b"400\r\n" + b"c" * 0x400 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
    status, _, body = await _exchange(url, _get(stream, extra=b"Transfer-Encoding: chunked\r\n", body=chunks))
    assert status == 413 and orjson.loads(body)["code"] == "PAYLOAD_TOO_LARGE", "no Content-Length, same limit"


async def test_a_stream_ends_with_stream_timeout_at_its_maximum_duration(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("too-long", 10)
    emulator.settings.update({"rpc_latency_s": 30.0, "latency_jitter": 0.0})  # the fetch never ends by itself
    base = await walletdoctor(stream_timeout_s=1.0)
    started = asyncio.get_running_loop().time()
    record = await read_stream(f"{base}/v4/wallet/{wallet}/stream", timeout=20)
    elapsed = asyncio.get_running_loop().time() - started
    assert [e.event for e in record.events] == ["connected", "error"]
    error = orjson.loads(record.last.data)
    assert (error["code"], error["retryable"]) == ("STREAM_TIMEOUT", True)
    assert "maximum duration" in error["error"]
    assert 1.0 <= elapsed < 5.0
    for _ in range(40):  # the emulator sees the cancelled request's connection close
        if emulator.stats.in_flight == 0:
            break
        await asyncio.sleep(0.05)
    assert emulator.stats.in_flight == 0, "the stream's upstream request was cancelled with it"
