"""WalletDoctor's application with tracemalloc on, for the bench's memory profile (``--profile``).

Run: ``python -m bench.memory_harness`` with ``walletdoctor serve``'s
environment. Builds the app with ``walletdoctor.app.create_app`` from the
same settings and serves it as ``walletdoctor serve`` does (uvloop,
``handler_cancellation=True``, no access log), plus one route:

``GET /_bench/memory?label=NAME`` takes a snapshot (Python allocations
by line, and live objects by type) under ``NAME``;
``GET /_bench/memory?base=A&label=B`` also answers the difference B - A:
``{"traced_bytes", "by_file": [[file, bytes, count]...],
"by_line": [[file:line, bytes, count]...], "objects": [[type, count]...]}``
(largest first).

Only allocations made through Python's allocators are traced: kernel
socket buffers and C libraries' own ``malloc`` (libuv handles) are not.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field

import uvloop
from aiohttp import web

__all__ = ["main"]

_TOP = 25


@dataclass
class _Snapshots:
    taken: dict[str, tuple[tracemalloc.Snapshot, Counter[str]]] = field(default_factory=dict)


_SNAPSHOTS = web.AppKey("bench_snapshots", _Snapshots)


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/walletdoctor/", "/lib/python3."):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return ("walletdoctor/" + tail) if marker == "/walletdoctor/" else tail
    return filename


async def _memory(request: web.Request) -> web.Response:
    snapshots = request.app[_SNAPSHOTS]
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    objects = Counter(type(o).__name__ for o in gc.get_objects())
    label = request.query.get("label", "last")
    snapshots.taken[label] = (snapshot, objects)
    base = request.query.get("base")
    if base is None or base not in snapshots.taken:
        return web.json_response({"label": label, "traced_bytes": tracemalloc.get_traced_memory()[0]})
    base_snapshot, base_objects = snapshots.taken[base]
    by_line = snapshot.compare_to(base_snapshot, "lineno")
    by_file = snapshot.compare_to(base_snapshot, "filename")
    grown = objects - base_objects
    return web.json_response({
        "traced_bytes": sum(s.size_diff for s in by_file),
        "by_file": [[_short(s.traceback[0].filename), s.size_diff, s.count_diff] for s in by_file[:_TOP]],
        "by_line": [[f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}", s.size_diff, s.count_diff]
                    for s in by_line[:_TOP]],
        "objects": grown.most_common(_TOP),
    })


def main() -> None:
    """Serve WalletDoctor with tracemalloc (settings from the environment, as ``walletdoctor serve``)."""
    tracemalloc.start(1)
    from walletdoctor.app import create_app
    from walletdoctor.config import Settings

    settings = Settings()
    app = create_app(settings)
    app[_SNAPSHOTS] = _Snapshots()
    app.router.add_get("/_bench/memory", _memory)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
