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

import logging
import os

import uvloop
from aiohttp import web

from walletdoctor.app import create_app
from walletdoctor.config import Settings
from walletdoctor.observability import configure_logging

__all__ = ["run_server"]


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
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port or None,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        shutdown_timeout=settings.shutdown_drain_s,
        access_log=None,
        max_line_size=settings.max_header_bytes,
        max_field_size=settings.max_header_bytes,
        print=log.info,
    )
