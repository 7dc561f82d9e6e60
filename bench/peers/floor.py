"""The floor: the least an aiohttp handler can do to serve the stream workload.

It writes bytes encoded once (``frames.trades_frames``), with no event
model, no queue and no producer task: one coroutine per stream that
sleeps and writes. Run as WalletDoctor runs (uvloop, access log off,
``handler_cancellation=True``), except for a listen backlog of 4,096
(``somaxconn`` here) instead of aiohttp's 128: with 128, a connect storm
overflows the accept queue and the dropped SYNs are retried after 1 s,
which would make the floor's p99 a kernel timer rather than a cost of
the server (uvicorn and gunicorn default to 2,048, Node.js to 511).

Run: ``python -m bench.peers.floor --port 8101 [--heartbeat 10]``
Routes: ``GET /stream`` (query in :mod:`bench.peers.frames`), ``GET /stats``
(``{"active": open streams}``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from dataclasses import dataclass, field

import uvloop
from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError

from bench.peers.frames import StreamRequest, connected_frame, heartbeat_frame, trades_frames

__all__ = ["create_app", "main"]

_BACKLOG = 4096
_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class _State:
    heartbeat_s: float
    active: int = 0
    ids: itertools.count[int] = field(default_factory=itertools.count)


_STATE = web.AppKey("floor_state", _State)


async def _stream(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    try:
        wanted = StreamRequest.parse(request.query)
    except ValueError as exc:
        return web.Response(status=400, text=str(exc))
    response = web.StreamResponse(headers=_HEADERS)
    await response.prepare(request)
    state.active += 1
    try:
        await response.write(connected_frame(f"floor-{next(state.ids)}"))
        if wanted.events:
            frames = trades_frames(wanted.size, wanted.events)
            await asyncio.sleep(wanted.delay)
            for frame in frames:
                await response.write(frame)
        else:
            for _ in range(int(wanted.max_s // state.heartbeat_s)):
                await asyncio.sleep(state.heartbeat_s)
                await response.write(heartbeat_frame())
        await response.write_eof()
    except (ConnectionResetError, ClientConnectionResetError):
        pass
    finally:
        state.active -= 1
    return response


async def _stats(request: web.Request) -> web.Response:
    return web.json_response({"active": request.app[_STATE].active})


def create_app(heartbeat_s: float) -> web.Application:
    """The floor's application: ``/stream`` and ``/stats``."""
    app = web.Application()
    app[_STATE] = _State(heartbeat_s)
    app.router.add_get("/stream", _stream)
    app.router.add_get("/stats", _stats)
    return app


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    args = parser.parse_args()
    web.run_app(
        create_app(args.heartbeat),
        host=args.host,
        port=args.port,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        access_log=None,
        backlog=_BACKLOG,
        print=None,
    )


if __name__ == "__main__":
    main()
