"""Real ``walletdoctor serve`` and ``walletdoctor emulator`` processes for functional tests.

Each process runs ``python -m walletdoctor`` with this interpreter, an
environment cleared of every WalletDoctor setting (so a developer's shell
cannot change a test) plus the test's own, and the directory of its log
file as working directory (so no ``.env`` of the checkout is read). Its
stdout and stderr (the JSON log lines) go to that log file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from walletdoctor.config import Settings

__all__ = ["SETTINGS_VARIABLES", "Process", "clean_environment", "start_emulator_process", "start_serve_process"]

#: Start-up bound: importing the package and binding takes 1-3 s on a busy 2-core machine.
_READY_TIMEOUT_S = 30.0


def _variables() -> frozenset[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or [name]
        names.update(str(choice).upper() for choice in choices)
    return frozenset(names)


#: Every environment variable :class:`~walletdoctor.config.Settings` reads.
SETTINGS_VARIABLES = _variables()


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any WalletDoctor setting, plus ``variables``."""
    return {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_VARIABLES} | variables


class Process:
    """A running ``walletdoctor`` subprocess reachable at :attr:`url`."""

    def __init__(self, popen: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.popen = popen
        self.url = url
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_lines(self) -> list[str]:
        """Every line the process has written so far."""
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it: no cleanup runs."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 30 s); returns the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


def _start(args: list[str], env: dict[str, str], log: Path, url: str, ready_path: str) -> Process:
    """Start the process; return once it says it listens on ``url`` and ``url + ready_path`` answers.

    Waiting for aiohttp's "Running on <url>" line, not just for an answer on the
    port, makes sure the answer comes from this process: between
    :func:`~tests.conftest.free_port` and the bind another process may take the port.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        popen = subprocess.Popen(
            [sys.executable, "-m", "walletdoctor", *args],
            env=env | {"PYTHONUNBUFFERED": "1"},  # the emulator prints its "Running on" line to stdout
            cwd=log.parent,
            stdout=output,
            stderr=output,
        )
    process = Process(popen, url, log)
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"walletdoctor {args[0]} exited with {popen.returncode}: {log.read_text()[-2000:]}")
        if f"Running on {url}" in log.read_text(errors="replace"):
            try:
                if httpx.get(url + ready_path, timeout=1).status_code < 500:
                    return process
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"walletdoctor {args[0]} did not answer within {_READY_TIMEOUT_S} s: {log.read_text()[-2000:]}")


def start_serve_process(log: Path, **settings: str) -> Process:
    """``walletdoctor serve`` on a free loopback port with ``settings`` (environment variable names);
    returns once it listens and ``/health`` answers."""
    port = free_port()
    env = clean_environment(PORT=str(port), **settings)
    return _start(["serve", "--host", "127.0.0.1"], env, log, f"http://127.0.0.1:{port}", "/health")


def start_emulator_process(log: Path, *options: str) -> Process:
    """``walletdoctor emulator`` on a free loopback port with command-line ``options``;
    returns once it listens and its admin endpoint answers."""
    port = free_port()
    args = ["emulator", "--host", "127.0.0.1", "--port", str(port), *options]
    return _start(args, clean_environment(), log, f"http://127.0.0.1:{port}", "/_emulator/settings")
