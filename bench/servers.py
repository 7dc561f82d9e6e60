"""The servers under test, how each is started, and what the bench asks of them while it runs.

Every server runs pinned to :data:`SERVER_CPU`, on a fresh loopback port,
with a minimal environment and in a scratch directory (so no ``.env``
file is picked up). Names, as ``--servers`` takes them:

==============  ==============================================================
walletdoctor    ``walletdoctor serve``, settings from environment variables
floor           ``bench/peers/floor.py``: aiohttp writing pre-encoded bytes
starlette       ``bench/peers/starlette_sse.py``: sse-starlette on uvicorn
flask-sync      ``bench/peers/flask_sse.py`` on gunicorn, 2 sync workers, as
                the original WalletDoctor shipped (``--workers 2 --timeout 120``)
flask-gthread   the same with gthread workers, threads sized to the scenario
node            ``bench/peers/node_sse.js`` on Node.js' ``http`` module
==============  ==============================================================
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.probe import free_port, request_json, wait_until_ready
from bench.processes import ProcessKeeper, Spawned, Usage, tree_usage

__all__ = ["SERVER_CPU", "SERVER_NAMES", "Launcher", "RunningServer", "describe"]

SERVER_CPU = 0
SERVER_NAMES = ("walletdoctor", "floor", "starlette", "flask-sync", "flask-gthread", "node")
#: Workers of the original WalletDoctor's gunicorn command.
GUNICORN_WORKERS = 2
_REPO = Path(__file__).resolve().parent.parent
_DESCRIPTIONS = {
    "walletdoctor": "WalletDoctor (`walletdoctor serve`)",
    "floor": "floor: aiohttp handler writing pre-encoded bytes",
    "starlette": "sse-starlette on uvicorn (uvloop, httptools)",
    "flask-sync": "Flask on gunicorn, 2 sync workers (the original's)",
    "flask-gthread": "Flask on gunicorn, 2 gthread workers",
    "node": "Node.js `http` module",
}


def describe(name: str) -> str:
    """One line saying what the server ``name`` is."""
    return _DESCRIPTIONS[name]


@dataclass
class RunningServer:
    """A started server: its process tree, port and probes."""

    name: str
    process: Spawned
    port: int
    stats_dir: Path | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def usage(self) -> Usage:
        """RSS and CPU seconds of the whole server (gunicorn master and workers included)."""
        return tree_usage(self.process.pid)

    def active_streams(self) -> int | None:
        """Streams the server itself counts as open; ``None`` if it cannot tell right now."""
        try:
            if self.name == "walletdoctor":
                return int(request_json(f"{self.url}/health", timeout_s=5.0)["active_streams"])
            if self.stats_dir is not None:
                return self._worker_counts()
            return int(request_json(f"{self.url}/stats", timeout_s=5.0)["active"])
        except (OSError, KeyError, ValueError):
            return None

    def _worker_counts(self) -> int:
        assert self.stats_dir is not None
        try:
            alive = {str(p.pid) for p in psutil.Process(self.process.pid).children()}
        except psutil.Error:
            return 0
        total = 0
        for path in self.stats_dir.iterdir():
            if path.name in alive:
                total += int(path.read_text() or 0)
        return total

    def idle_path(self, wallet: str) -> str:
        """Request target of a stream that stays open and quiet."""
        if self.name == "walletdoctor":
            return f"/v4/wallet/{wallet}/stream"
        return "/stream"

    def fanout_path(self, wallet: str, *, events: int, size: int, delay_s: float) -> str:
        """Request target of a fan-out stream (``events`` trades events of ``size`` bytes after ``delay_s``)."""
        if self.name == "walletdoctor":
            return f"/v4/wallet/{wallet}/stream?batch_size=100"
        return f"/stream?events={events}&size={size}&delay={delay_s}"


class Launcher:
    """Starts servers for the scenarios.

    Args:
        keeper: owns the processes.
        workdir: scratch directory (the servers' working directory).
        walletdoctor_path: a source tree to run WalletDoctor from instead
            of the installed package (put first on ``PYTHONPATH``).
    """

    def __init__(self, keeper: ProcessKeeper, workdir: Path, walletdoctor_path: Path | None = None) -> None:
        self.keeper = keeper
        self.workdir = workdir
        self.walletdoctor_path = walletdoctor_path
        workdir.mkdir(parents=True, exist_ok=True)
        self._launches = 0

    def base_env(self, *, walletdoctor: bool = False) -> dict[str, str]:
        """A minimal environment: PATH, HOME, locale and the import path of the bench (and WalletDoctor)."""
        paths = [str(_REPO)]
        if walletdoctor and self.walletdoctor_path is not None:
            paths.insert(0, str(self.walletdoctor_path))
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(paths),
        }

    def start(
        self,
        name: str,
        *,
        heartbeat_s: float,
        capacity: int,
        walletdoctor_env: dict[str, str] | None = None,
        walletdoctor_command: list[str] | None = None,
    ) -> RunningServer:
        """Start server ``name`` and wait until it answers.

        Args:
            heartbeat_s: seconds between heartbeats of quiet streams.
            capacity: streams the scenario will hold at once (sizes gthread's thread pool).
            walletdoctor_env: settings of ``walletdoctor serve`` (environment variables).
            walletdoctor_command: another command serving WalletDoctor from the same
                settings (the profiling harness); default ``walletdoctor serve``.

        Raises:
            TimeoutError: the server did not come up within 60 s (see its log).
            FileNotFoundError: ``node`` is not installed (for the Node.js peer).
        """
        self._launches += 1
        port = free_port()
        label = f"{name}-{self._launches}"
        env = self.base_env(walletdoctor=name == "walletdoctor")
        stats_dir: Path | None = None
        ready = f"http://127.0.0.1:{port}/stats"
        workers = 0
        if name == "walletdoctor":
            env |= {"HOST": "127.0.0.1", "PORT": str(port), "HEARTBEAT_S": str(heartbeat_s)}
            env |= walletdoctor_env or {}
            command = walletdoctor_command or [sys.executable, "-m", "walletdoctor", "serve"]
            ready = f"http://127.0.0.1:{port}/health"
        elif name == "floor":
            command = [sys.executable, "-m", "bench.peers.floor", "--port", str(port), "--heartbeat", str(heartbeat_s)]
        elif name == "starlette":
            command = [sys.executable, "-m", "bench.peers.starlette_sse", "--port", str(port),
                       "--heartbeat", str(heartbeat_s)]
        elif name == "node":
            node = shutil.which("node")
            if node is None:
                raise FileNotFoundError("node is not installed")
            command = [node, str(_REPO / "bench" / "peers" / "node_sse.js"), "--port", str(port),
                       "--heartbeat", str(heartbeat_s)]
        elif name in ("flask-sync", "flask-gthread"):
            stats_dir = self.workdir / f"{label}-stats"
            stats_dir.mkdir()
            workers = GUNICORN_WORKERS
            factory = f"bench.peers.flask_sse:create_app({heartbeat_s!r}, {str(stats_dir)!r})"
            command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                       "--timeout", "120", "--log-level", "warning"]
            if name == "flask-gthread":
                threads = max(16, math.ceil(capacity * 1.05 / workers) + 8)
                command += ["--worker-class", "gthread", "--threads", str(threads),
                            "--worker-connections", str(threads)]
            command.append(factory)
            ready = f"http://127.0.0.1:{port}/stream?events=1&size=200"
        else:
            raise ValueError(f"unknown server {name!r}; known: {', '.join(SERVER_NAMES)}")
        process = self.keeper.start(label, command, cpu=SERVER_CPU, env=env, cwd=self.workdir)
        server = RunningServer(name, process, port, stats_dir)
        try:
            wait_until_ready(ready, 60.0, alive=process.alive)
            if workers:
                _wait_for_children(process.pid, workers, 30.0)
        except BaseException:
            self.keeper.stop(process)
            raise
        server.started_at = time.monotonic()
        return server

    def stop(self, server: RunningServer) -> None:
        """End the server and its workers."""
        self.keeper.stop(server.process)


def _wait_for_children(pid: int, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if len(psutil.Process(pid).children()) >= count:
                time.sleep(0.5)  # let the last worker finish importing the app
                return
        except psutil.Error:
            break
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn {pid} did not start {count} workers")
