"""Running the Helius emulator: as its own process (``walletdoctor emulator``) or inside another one.

Both ways run aiohttp with ``handler_cancellation=True``: a client that
disconnects cancels its handler at once, so the emulator stops counting the
request in flight (FACTS §5.1 explains why aiohttp would otherwise only
notice at the next write) and a hanging ``timeout`` fault does not pin the
connection. Access logging is off: at hundreds of requests per second it
would cost more than the emulator itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvloop
from aiohttp import web

from walletdoctor.helius.emulator.app import create_emulator_app
from walletdoctor.helius.emulator.history import WalletBook
from walletdoctor.helius.emulator.settings import EmulatorSettings

__all__ = ["DEFAULT_SHUTDOWN_TIMEOUT_S", "run_emulator", "start_emulator"]

#: Seconds open requests get to finish on shutdown; the emulator holds no
#: state worth waiting for, and a hanging fault would otherwise hold the exit.
DEFAULT_SHUTDOWN_TIMEOUT_S = 1.0


def run_emulator(
    host: str,
    port: int,
    settings: EmulatorSettings,
    *,
    book: WalletBook | None = None,
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
) -> None:
    """Serve the emulator on ``host:port`` on a uvloop event loop until SIGINT or SIGTERM.

    Blocking. ``book`` defaults to the recorded real wallet (see
    :func:`create_emulator_app`). Both Helius hosts are served at
    ``http://host:port``: point the client's RPC URL and API URL there.
    Prints aiohttp's "Running on ..." line to stdout.

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    app = create_emulator_app(settings, book)
    web.run_app(
        app,
        host=host,
        port=port,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
    )


@asynccontextmanager
async def start_emulator(
    settings: EmulatorSettings | None = None,
    book: WalletBook | None = None,
    *,
    host: str = "127.0.0.1",
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
) -> AsyncIterator[tuple[str, web.Application]]:
    """Run the emulator in the current event loop on a free port of ``host``.

    Yields:
        ``(base_url, app)``: ``base_url`` like ``"http://127.0.0.1:41234"``
        (no trailing slash) serves both hosts; ``app`` gives the live state
        through ``app[EMULATOR_SETTINGS]``, ``app[EMULATOR_STATS]``,
        ``app[EMULATOR_BOOK]``. The server stops when the block exits.
    """
    app = create_emulator_app(settings, book)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        bound_port = runner.addresses[0][1]
        yield f"http://{host}:{bound_port}", app
    finally:
        await runner.cleanup()
