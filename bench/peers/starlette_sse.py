"""sse-starlette on uvicorn (uvloop, httptools): the stream workload as its users write it.

Each stream is an async generator of :class:`ServerSentEvent` objects that
sse-starlette encodes and frames per stream and per event (the JSON text
itself is made once per process, as a careful user would); heartbeats are
sse-starlette's own ``ping`` with a ``heartbeat`` event as its message.

Run: ``python -m bench.peers.starlette_sse --port 8102 [--heartbeat 10]``
Routes: ``GET /stream`` (query in :mod:`bench.peers.frames`), ``GET /stats``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import AsyncIterator

import anyio
import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bench.peers.frames import StreamRequest, trades_payloads

__all__ = ["create_app", "main"]


class _Streams:
    """Open streams and stream ids of the process."""

    def __init__(self) -> None:
        self.active = 0
        self.ids = itertools.count()


def _heartbeat() -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"timestamp": time.time()}), event="heartbeat")


async def _events(streams: _Streams, wanted: StreamRequest) -> AsyncIterator[ServerSentEvent]:
    stream_id = f"starlette-{next(streams.ids)}"
    streams.active += 1
    try:
        connected = {"stream_id": stream_id, "wallet": "bench", "timestamp": time.time(), "resumed": False}
        yield ServerSentEvent(data=json.dumps(connected), event="connected", id=f"{stream_id}:1", retry=3000)
        if wanted.events:
            payloads = trades_payloads(wanted.size, wanted.events)
            await anyio.sleep(wanted.delay)
            for seq, payload in enumerate(payloads, start=2):
                yield ServerSentEvent(data=payload, event="trades", id=f"{stream_id}:{seq}")
        else:
            await anyio.sleep(wanted.max_s)
    finally:
        streams.active -= 1


def create_app(heartbeat_s: float) -> Starlette:
    """The peer's Starlette application: ``/stream`` and ``/stats``."""
    streams = _Streams()

    async def stream(request: Request) -> Response:
        try:
            wanted = StreamRequest.parse(request.query_params)
        except ValueError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return EventSourceResponse(_events(streams, wanted), ping=heartbeat_s, ping_message_factory=_heartbeat)

    async def stats(request: Request) -> Response:
        return JSONResponse({"active": streams.active})

    return Starlette(routes=[Route("/stream", stream), Route("/stats", stats)])


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.heartbeat),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
