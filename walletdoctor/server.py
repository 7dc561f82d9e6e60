"""Running the server: one process, or several sharing one port.

``walletdoctor serve`` runs :func:`run_server` in its own process, or, with
``--workers N`` (``WEB_CONCURRENCY`` on Procfile platforms), a supervisor
that runs N of them (:mod:`walletdoctor.workers`). Each worker binds the
port itself with ``SO_REUSEPORT``, so the kernel spreads new connections
over the workers and a worker that dies takes only its own connections
with it; their clients reconnect to another worker and resume there
(with ``REDIS_URL``, which the workers share).
"""

from __future__ import annotations

import gc
import logging
import os
import socket

import uvloop
from aiohttp import web

from walletdoctor.app import create_app
from walletdoctor.config import Settings
from walletdoctor.observability import configure_logging

__all__ = ["GC_THRESHOLDS", "LISTEN_BACKLOG", "freeze_startup_objects", "listening_socket", "run_server", "tune_collector"]

#: Connections the kernel queues before the server accepts them. aiohttp's
#: default, 128, drops the SYNs of a connect storm (retried 1, 3, 7 s later:
#: measured 4.6 s p99 to ``connected`` for 2,000 clients); Linux caps it at
#: ``net.core.somaxconn`` (4,096 by default).
LISTEN_BACKLOG = 4096
#: Collector thresholds (generation 0 allocations, then collections of 0 and 1).
#: Thousands of open streams are millions of long-lived objects: with
#: Python's default (700, 10, 10) a 2,000-client connect storm spent a third
#: of its CPU in the collector (measured: 0.56 of 1.8 CPU-s over three
#: storms); with these and the start-up objects frozen, 0.13.
GC_THRESHOLDS = (20_000, 50, 100)


def run_server(settings: Settings, *, reuse_port: bool = False) -> None:
    """Serve the app on ``settings.host``:``settings.port`` until SIGTERM or SIGINT.

    uvloop event loop, handler cancellation on client disconnect (FACTS 5.1),
    and a graceful shutdown that fits ``settings.shutdown_grace_s`` (open
    streams are told ``SHUTTING_DOWN``). ``reuse_port`` binds with
    ``SO_REUSEPORT`` so that several processes share the port.
    """
    configure_logging(settings.log_level)
    log = logging.getLogger("walletdoctor")
    log.info("process %d serving on %s:%d", os.getpid(), settings.host, settings.port)
    tune_collector()
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)
    web.run_app(
        app,
        sock=listening_socket(settings.host, settings.port, reuse_port=reuse_port, user_timeout_s=settings.write_timeout_s),
        backlog=LISTEN_BACKLOG,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        shutdown_timeout=settings.shutdown_drain_s,
        access_log=None,
        max_line_size=settings.max_header_bytes,
        max_field_size=settings.max_header_bytes,
        print=log.info,
    )


def listening_socket(host: str, port: int, *, reuse_port: bool, user_timeout_s: float) -> socket.socket:
    """The server's TCP socket, bound to ``host``:``port`` (not yet listening).

    ``SO_REUSEPORT`` when several processes share the port. ``TCP_USER_TIMEOUT``
    (Linux), which every accepted connection inherits: the kernel drops a peer
    that leaves sent data unacknowledged, or a zero window unopened, for
    ``user_timeout_s``; a vanished client is noticed even on a quiet stream,
    and a write into a full buffer never waits longer. Set once here rather
    than on each connection (a system call, and a socket object, per accept).

    Raises:
        OSError: the address cannot be bound.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
    if user_timeout is not None:
        sock.setsockopt(socket.IPPROTO_TCP, user_timeout, int(user_timeout_s * 1000))
    sock.bind(address)
    return sock


def tune_collector() -> None:
    """Set the garbage collector's :data:`GC_THRESHOLDS` for this process; call before building the app.

    With Python's defaults a process holding a whole wallet's parsed history
    stalled its event loop for 200-500 ms at a time in full collections
    (measured in ``bench.first_trades``, which builds apps in its own process:
    those stalls made symbol and price look-ups look twice as slow).
    """
    gc.set_threshold(*GC_THRESHOLDS)


async def freeze_startup_objects(app: web.Application) -> None:
    """Keep what start-up made (modules, the emulator's fixtures) out of every
    later collection: it lives as long as the process. An ``on_startup`` hook."""
    gc.collect()
    gc.freeze()
