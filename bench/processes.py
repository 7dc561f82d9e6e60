"""Processes the bench starts: pinned, logged, measured, and always ended by PID.

Every process goes through :class:`ProcessKeeper`, which starts it under
``python -m bench.pin CPU --`` (affinity and open-files limit), remembers
its PID, and ends it (SIGTERM, then SIGKILL for it and every descendant it
had) when asked or when the keeper closes, failures included. Nothing is
ever signalled by name.

Resource figures come from psutil over a process *tree* (gunicorn's master
and workers count as one server): resident set size in bytes and CPU
seconds (user + system).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

import psutil

__all__ = ["ProcessKeeper", "Sampler", "Spawned", "Usage", "tree_usage"]

#: Seconds a process gets to exit after SIGTERM before SIGKILL.
DEFAULT_GRACE_S = 3.0


@dataclass
class Spawned:
    """A process the keeper started."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None

    @property
    def pid(self) -> int:
        """The process id (the command's own: ``bench.pin`` execs it)."""
        return self.popen.pid

    @property
    def stdin(self) -> IO[bytes]:
        """The process's standard input (only when started with ``pipes=True``)."""
        assert self.popen.stdin is not None
        return self.popen.stdin

    @property
    def stdout(self) -> IO[bytes]:
        """The process's standard output (only when started with ``pipes=True``)."""
        assert self.popen.stdout is not None
        return self.popen.stdout

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.popen.poll() is None


@dataclass(frozen=True, slots=True)
class Usage:
    """Resources of a process tree at one instant: RSS bytes, CPU seconds, process count."""

    rss: int
    cpu_s: float
    processes: int


def tree_usage(pid: int) -> Usage:
    """RSS and CPU time of ``pid`` and all its descendants (zero if it is gone)."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return Usage(0, 0.0, 0)
    rss, cpu, count = 0, 0.0, 0
    for member in members:
        try:
            with member.oneshot():
                rss += member.memory_info().rss
                times = member.cpu_times()
                cpu += times.user + times.system
                count += 1
        except psutil.Error:
            continue
    return Usage(rss, cpu, count)


class ProcessKeeper:
    """Starts pinned processes and ends every one of them, by PID, on :meth:`close`.

    Args:
        log_dir: where each process's output goes (``<name>.log``).
    """

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._spawned: list[Spawned] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        name: str,
        command: Sequence[str],
        *,
        cpu: int,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        pipes: bool = False,
    ) -> Spawned:
        """Start ``command`` pinned to ``cpu``.

        With ``pipes`` its stdin and stdout are pipes (stderr goes to the
        log); otherwise both outputs go to ``<log_dir>/<name>.log``.
        """
        pinned = [sys.executable, "-m", "bench.pin", str(cpu), "--", *command]
        log_path = self._log_dir / f"{name}.log"
        log = log_path.open("ab")
        try:
            popen = subprocess.Popen(
                pinned,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        finally:
            log.close()
        spawned = Spawned(name, popen, log_path)
        self._spawned.append(spawned)
        return spawned

    def stop(self, spawned: Spawned, *, grace_s: float = DEFAULT_GRACE_S, hard: bool = False) -> None:
        """End ``spawned`` and its descendants: SIGTERM (unless ``hard``), then SIGKILL after ``grace_s``."""
        try:
            descendants = [p.pid for p in psutil.Process(spawned.pid).children(recursive=True)]
        except psutil.Error:
            descendants = []
        if spawned.alive():
            with contextlib.suppress(ProcessLookupError):
                spawned.popen.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                spawned.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    spawned.popen.kill()
                spawned.popen.wait(timeout=10)
        for pid in descendants:
            with contextlib.suppress(psutil.Error):
                child = psutil.Process(pid)
                child.kill()
                child.wait(timeout=5)
        for pipe in (spawned.popen.stdin, spawned.popen.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with contextlib.suppress(ValueError):
            self._spawned.remove(spawned)

    def close(self) -> None:
        """End every process still running, newest first."""
        for spawned in reversed(list(self._spawned)):
            self.stop(spawned, grace_s=1.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class Sampler:
    """Samples the usage of some process trees every ``interval_s`` on a thread.

    ``samples[name]`` is a list of ``(monotonic time, Usage)``. Bounded:
    stops by itself after ``max_s``.
    """

    pids: dict[str, int]
    interval_s: float = 0.25
    max_s: float = 3600.0
    samples: dict[str, list[tuple[float, Usage]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.samples = {name: [] for name in self.pids}
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            for name, pid in self.pids.items():
                self.samples[name].append((now, tree_usage(pid)))
            self._stop.wait(self.interval_s)

    def peak_rss(self, name: str) -> int:
        """Largest RSS sampled for ``name`` (bytes), 0 without samples."""
        return max((usage.rss for _, usage in self.samples.get(name, [])), default=0)
