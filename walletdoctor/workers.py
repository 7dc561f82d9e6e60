"""A supervisor of N single-process servers on one port (``walletdoctor serve --workers N``).

Each worker is a fresh interpreter (``spawn``) running
:func:`walletdoctor.server.run_server` with ``SO_REUSEPORT``. The
supervisor only watches:

- a worker that dies is started again (after ``RESTART_DELAY_S``), so the
  port keeps N processes; one that keeps dying within ``QUICK_DEATH_S`` of
  its start ``MAX_QUICK_DEATHS`` times in a row stops the supervisor (a
  broken configuration, not a crash to paper over);
- SIGTERM or SIGINT is passed on to every worker, which tells its open
  streams ``SHUTTING_DOWN`` and exits within the grace period; workers
  still alive ``shutdown_grace_s`` later are killed.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from typing import Any

from walletdoctor.config import Settings
from walletdoctor.observability import configure_logging

__all__ = ["MAX_QUICK_DEATHS", "QUICK_DEATH_S", "RESTART_DELAY_S", "run_workers"]

log = logging.getLogger("walletdoctor.workers")

RESTART_DELAY_S = 0.5
QUICK_DEATH_S = 5.0
MAX_QUICK_DEATHS = 5
_POLL_S = 0.2


def _worker(overrides: dict[str, Any]) -> None:
    # A fresh interpreter: settings are read again from the same environment.
    from walletdoctor.server import run_server

    run_server(Settings(**overrides), reuse_port=True)


class _Supervisor:
    def __init__(self, settings: Settings, overrides: dict[str, Any], workers: int) -> None:
        self._settings = settings
        self._overrides = overrides
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[tuple[BaseProcess, float] | None] = [None] * workers
        self._quick_deaths = 0
        self._stopping_since: float | None = None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(len(self._slots)):
            self._start(slot)
        while True:
            if self._stopping_since is not None:
                return self._finish()
            self._watch()
            time.sleep(_POLL_S)

    def _start(self, slot: int) -> None:
        process = self._context.Process(target=_worker, args=(self._overrides,), name=f"walletdoctor-worker-{slot}")
        process.start()
        self._slots[slot] = (process, time.monotonic())
        log.info("worker %d started: process %d", slot, process.pid)

    def _watch(self) -> None:
        for slot, entry in enumerate(self._slots):
            if entry is None or entry[0].is_alive():
                continue
            process, started = entry
            lived = time.monotonic() - started
            log.warning("worker %d (process %d) exited with %s after %.1f s", slot, process.pid, process.exitcode, lived)
            self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH_S else 0
            if self._quick_deaths >= MAX_QUICK_DEATHS:
                log.error("workers keep dying at start-up; stopping")
                self._stop(signal.SIGTERM, None)
                return
            time.sleep(RESTART_DELAY_S)
            if self._stopping_since is None:
                self._start(slot)

    def _stop(self, signum: int, frame: object) -> None:
        if self._stopping_since is not None:
            return
        self._stopping_since = time.monotonic()
        log.info("signal %d: stopping %d workers", signum, len(self._slots))
        for entry in self._slots:
            if entry is not None and entry[0].is_alive() and entry[0].pid is not None:
                entry[0].terminate()

    def _finish(self) -> int:
        assert self._stopping_since is not None
        deadline = self._stopping_since + self._settings.shutdown_grace_s
        for entry in self._slots:
            if entry is not None:
                entry[0].join(max(0.0, deadline - time.monotonic()))
        for entry in self._slots:
            if entry is not None and entry[0].is_alive():
                log.warning("worker process %d still running after the grace period: killed", entry[0].pid)
                entry[0].kill()
                entry[0].join(5)
        return 1 if self._quick_deaths >= MAX_QUICK_DEATHS else 0


def run_workers(settings: Settings, overrides: dict[str, Any], workers: int) -> None:
    """Run ``workers`` servers on one port until SIGTERM or SIGINT, then exit with their status.

    Args:
        settings: the validated settings (the workers read the same environment).
        overrides: settings given on the command line, passed to every worker.
        workers: how many server processes (>= 2; one runs without a supervisor).
    """
    configure_logging(settings.log_level)
    if settings.redis_url is None:
        log.warning(
            "%d workers without REDIS_URL: rate limits, stream slots and resume buffers are per worker; "
            "a stream cannot resume on another worker",
            workers,
        )
    sys.exit(_Supervisor(settings, overrides, workers).run())
