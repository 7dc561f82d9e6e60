"""Flask on gunicorn: the original WalletDoctor's stack, serving the stream workload.

The original shipped ``gunicorn ... --timeout 120 --workers 2`` with the
default sync workers: one stream per worker at a time. The bench runs it
that way and again with gthread workers (one thread per open stream).
Each stream is a generator of bytes encoded once (the cheapest a Flask
handler can be); a thread sleeps between heartbeats, so a vanished client
is noticed at the next write.

gunicorn workers are separate processes and a sync worker cannot answer a
``/stats`` request while it streams, so each worker writes its count of
open streams to ``<stats_dir>/<pid>`` and the bench adds the files up.

Run: ``gunicorn --workers 2 --timeout 120 'bench.peers.flask_sse:create_app(10.0, "/tmp/stats")'``
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, request

from bench.peers.frames import StreamRequest, connected_frame, heartbeat_frame, trades_frames

__all__ = ["create_app"]

_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class _StreamCount:
    """Open streams of this worker process, mirrored to a file the bench reads."""

    def __init__(self, stats_dir: Path) -> None:
        self._dir = stats_dir
        self._lock = threading.Lock()
        self._active = 0
        self._ids = 0

    def change(self, delta: int) -> int:
        """Add ``delta`` to the count, write it out; returns a fresh id when opening."""
        with self._lock:
            self._active += delta
            self._ids += max(delta, 0)
            pid = os.getpid()
            temporary = self._dir / f".{pid}"
            temporary.write_text(str(self._active))
            temporary.replace(self._dir / str(pid))
            return self._ids


def _events(count: _StreamCount, wanted: StreamRequest, heartbeat_s: float) -> Iterator[bytes]:
    stream_id = f"flask-{os.getpid()}-{count.change(+1)}"
    try:
        yield connected_frame(stream_id)
        if wanted.events:
            frames = trades_frames(wanted.size, wanted.events)
            time.sleep(wanted.delay)
            yield from frames
        else:
            for _ in range(int(wanted.max_s // heartbeat_s)):
                time.sleep(heartbeat_s)
                yield heartbeat_frame()
    finally:
        count.change(-1)


def create_app(heartbeat_s: float, stats_dir: str) -> Flask:
    """The Flask application: ``GET /stream`` (query in :mod:`bench.peers.frames`).

    Args:
        heartbeat_s: seconds between heartbeats of an idle stream.
        stats_dir: an existing directory for the per-worker stream counts.
    """
    app = Flask(__name__)
    count = _StreamCount(Path(stats_dir))

    @app.get("/stream")
    def stream() -> Response:
        try:
            wanted = StreamRequest.parse(request.args)
        except ValueError as exc:
            return Response(str(exc), status=400)
        return Response(_events(count, wanted, heartbeat_s), mimetype="text/event-stream", headers=_HEADERS)

    return app
