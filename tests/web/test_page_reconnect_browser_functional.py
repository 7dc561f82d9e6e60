"""The live page's EventSource handling in a real Chromium, against a scripted stream server.

The server here plays the stream contract's edge cases on cue, which the
real server produces only under faults: a connection dropped mid-stream, a
slow resume that replays an event the page has already shown, an ``error``
event, a refusal. The page is the real one (same routes, same files).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from tests.browser import AsyncBrowser, async_chromium
from tests.conftest import REAL_WALLET
from walletdoctor.web import add_page_routes

STREAM_ID = "0b4c7a64-5d1e-4a8e-9a63-2f0f6c1f8a10"
_STATE = "return document.body.dataset.state"
_DETAIL = "return document.getElementById('state-detail').textContent"
_ROWS = "return document.querySelectorAll('#trades-body tr').length"


def frame(name: str, data: dict[str, Any], seq: int | None = None, stream_id: str = STREAM_ID) -> bytes:
    head = f"id: {stream_id}:{seq}\n" if seq is not None else ""
    return f"{head}event: {name}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def trade(n: int) -> dict[str, Any]:
    return {
        "signature": f"sig{n}",
        "slot": 100 + n,
        "timestamp": 1_750_000_000 + n,
        "source": "RAYDIUM",
        "side": "sell",
        "token_in": "BONK",
        "token_out": "SOL",
        "token_in_mint": "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263",
        "token_out_mint": "So11111111111111111111111111111111111111112",
        "amount_in": "1000",
        "amount_out": "0.5",
        "price": "0.0005",
        "value_usd": "75",
        "fee_sol": "0.000005",
        "pnl_usd": str(n),
        "pnl_sol": None,
    }


def connected(seq: int, *, resumed: bool) -> bytes:
    return frame("connected", {"stream_id": STREAM_ID, "wallet": REAL_WALLET, "timestamp": 1.0, "resumed": resumed}, seq)


def trades(seq: int, batch: int, numbers: list[int], *, has_more: bool = True) -> bytes:
    return frame("trades", {"trades": [trade(n) for n in numbers], "batch_num": batch, "total_yielded": max(numbers), "has_more": has_more}, seq)


@dataclass
class Script:
    """What each connection gets, in order; records each connection's Last-Event-ID."""

    plays: list[Any]
    seen: list[str | None] = field(default_factory=list)


async def _server(aiohttp_server: Any, script: Script) -> str:
    async def stream(request: web.Request) -> web.StreamResponse:
        script.seen.append(request.headers.get("Last-Event-ID"))
        play = script.plays[min(len(script.seen), len(script.plays)) - 1]
        return await play(request)

    app = web.Application()
    add_page_routes(app)
    app.router.add_get("/v4/wallet/{address}/stream", stream)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def _sse(request: web.Request, *frames: bytes, delay_s: float = 0.0) -> web.StreamResponse:
    if delay_s:
        await asyncio.sleep(delay_s)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    for data in frames:
        await response.write(data)
    await response.write_eof()
    return response


async def _start(browser: AsyncBrowser, base: str) -> None:
    await browser.open(f"{base}/")
    await browser.run("document.getElementById('start').click()")


async def test_a_dropped_stream_resumes_without_showing_a_trade_twice(aiohttp_server: Any, tmp_path: Path) -> None:
    async def first(request: web.Request) -> web.StreamResponse:
        # A short retry hint, then the connection ends mid-stream.
        return await _sse(request, b"retry: 200\n" + connected(1, resumed=False), trades(2, 1, [1, 2]))

    async def resume(request: web.Request) -> web.StreamResponse:
        return await _sse(
            request,
            connected(2, resumed=True),
            trades(2, 1, [1, 2]),  # already shown: must be skipped
            trades(3, 2, [3], has_more=False),
            frame("complete", {"trades_found": 3, "duration": 1.5, "summary": {"trades_found": 3, "tokens": []}}, 4),
            delay_s=1.5,
        )

    script = Script([first, resume])
    base = await _server(aiohttp_server, script)
    async with async_chromium(tmp_path / "profile") as browser:
        await _start(browser, base)
        await browser.wait_for(f"{_STATE} === 'reconnecting'", timeout_s=10, poll_s=0.05)
        assert await browser.run(_ROWS) == 2
        await browser.wait_for(f"{_STATE} === 'complete'", timeout_s=10)
        assert await browser.run(_ROWS) == 3
        assert await browser.run("return [...document.querySelectorAll('#trades-body tr')].map((r) => r.dataset.signature)") == [
            "sig1",
            "sig2",
            "sig3",
        ]
        assert script.seen == [None, f"{STREAM_ID}:2"]
        # Closed on complete: no third connection after the retry time.
        await asyncio.sleep(0.8)
        assert len(script.seen) == 2
        assert await browser.csp_violations() == []
        assert await browser.console_errors() == []


async def test_an_expired_stream_keeps_what_was_shown_and_says_so(aiohttp_server: Any, tmp_path: Path) -> None:
    async def first(request: web.Request) -> web.StreamResponse:
        return await _sse(request, b"retry: 200\n" + connected(1, resumed=False), trades(2, 1, [1, 2]))

    async def expired(request: web.Request) -> web.StreamResponse:
        # What the server answers a Last-Event-ID it no longer knows: a new stream, then STREAM_EXPIRED.
        other = "5e0c7a64-5d1e-4a8e-9a63-2f0f6c1f8a11"
        hello = {"stream_id": other, "wallet": REAL_WALLET, "timestamp": 2.0, "resumed": False}
        error = {"error": "this stream can no longer be resumed; start a new stream", "code": "STREAM_EXPIRED", "retryable": False, "details": {}}
        return await _sse(request, frame("connected", hello, 1, other), frame("error", error, 2, other))

    script = Script([first, expired])
    base = await _server(aiohttp_server, script)
    async with async_chromium(tmp_path / "profile") as browser:
        await _start(browser, base)
        await browser.wait_for(f"{_STATE} === 'error'", timeout_s=10)
        assert "can no longer be resumed" in await browser.run(_DETAIL)
        assert await browser.run(_ROWS) == 2
        assert script.seen == [None, f"{STREAM_ID}:2"]


async def test_an_error_event_ends_the_stream_for_good(aiohttp_server: Any, tmp_path: Path) -> None:
    async def failing(request: web.Request) -> web.StreamResponse:
        error = {"error": "the transaction history provider is unavailable", "code": "UPSTREAM_UNAVAILABLE", "retryable": True, "details": {}}
        return await _sse(request, b"retry: 200\n" + connected(1, resumed=False), frame("error", error, 2))

    script = Script([failing])
    base = await _server(aiohttp_server, script)
    async with async_chromium(tmp_path / "profile") as browser:
        await _start(browser, base)
        await browser.wait_for(f"{_STATE} === 'error'", timeout_s=10)
        detail = await browser.run(_DETAIL)
        assert "the transaction history provider is unavailable (UPSTREAM_UNAVAILABLE)" in detail
        await asyncio.sleep(0.8)
        assert script.seen == [None], "EventSource must be closed on an error event, not reconnect"
        assert await browser.console_errors() == []


async def test_a_refusal_shows_the_servers_message(aiohttp_server: Any, tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.Response:
        body = {"error": "API key required", "code": "UNAUTHORIZED", "retryable": False, "details": {"reason": "missing"}}
        return web.json_response(body, status=401)

    script = Script([refuse])
    base = await _server(aiohttp_server, script)
    async with async_chromium(tmp_path / "profile") as browser:
        await _start(browser, base)
        await browser.wait_for(
            "return document.body.dataset.state === 'error' && document.getElementById('state-detail').textContent.includes('HTTP 401')",
            timeout_s=10,
        )
        assert await browser.run(_DETAIL) == "API key required (UNAUTHORIZED, HTTP 401)"
        assert await browser.csp_violations() == []
