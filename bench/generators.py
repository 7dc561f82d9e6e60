"""The bench's side of the load generators: start several, steer them, merge what they saw.

A :class:`GeneratorGroup` splits ``n`` streams over a few
:mod:`bench.loadgen` processes (pinned to the load CPU, each from its own
loopback source address) and merges their reports: per-stream lists
concatenated in process order, failure counts added up.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import orjson

from bench.loadgen import Job
from bench.processes import ProcessKeeper, Spawned

__all__ = ["GeneratorError", "GeneratorGroup", "LoadGenerator", "merge_reports"]

#: The CPU the load generators (and the Helius emulator) run on.
LOAD_CPU = 1

_LISTS = (
    "request_at", "first_byte_at", "connected_at", "heartbeats", "trades", "first_trades_at", "last_trades_at",
    "complete_at", "error_event", "ended_at", "nbytes", "status", "tails",
)


class GeneratorError(RuntimeError):
    """A load generator died or did not answer in time."""


class LoadGenerator:
    """One :mod:`bench.loadgen` process and the JSON lines it prints."""

    def __init__(self, keeper: ProcessKeeper, name: str, job: Job) -> None:
        self._keeper = keeper
        self.name = name
        self.job = job
        command = [sys.executable, "-m", "bench.loadgen", orjson.dumps(asdict(job)).decode()]
        self.process: Spawned = keeper.start(name, command, cpu=LOAD_CPU, pipes=True)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                self._messages.put(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
        self._messages.put(None)

    def wait_for(self, event: str, timeout_s: float) -> dict[str, Any]:
        """The next message named ``event``, skipping others.

        Raises:
            GeneratorError: the process ended or ``timeout_s`` passed first.
        """
        try:
            while True:
                message = self._messages.get(timeout=timeout_s)
                if message is None:
                    raise GeneratorError(f"{self.name} exited (see its log {self.process.log_path})")
                if message.get("event") == event:
                    return message
        except queue.Empty:
            raise GeneratorError(f"{self.name}: no {event!r} within {timeout_s:.0f} s") from None

    def send(self, command: str) -> None:
        """Write one command line (``report`` or ``close``)."""
        try:
            self.process.stdin.write(command.encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise GeneratorError(f"{self.name} is gone") from exc

    def report(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Ask for and return a report."""
        self.send("report")
        return self.wait_for("report", timeout_s)

    def close(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Reset every connection, return the final report, end the process."""
        try:
            self.send("close")
            return self.wait_for("report", timeout_s)
        finally:
            self._keeper.stop(self.process, grace_s=5.0)

    def kill(self) -> None:
        """SIGKILL the process: the kernel closes its sockets, as when a client vanishes."""
        self._keeper.stop(self.process, hard=True)


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report from several: per-stream lists concatenated, failures added up."""
    merged: dict[str, Any] = {key: [] for key in _LISTS}
    failures: dict[str, int] = {}
    for report in reports:
        for key in _LISTS:
            merged[key].extend(report.get(key, []))
        for reason, count in report.get("failures", {}).items():
            failures[reason] = failures.get(reason, 0) + count
    merged["failures"] = failures
    merged["now"] = max((r.get("now", 0.0) for r in reports), default=0.0)
    merged["notes"] = [r["note"] for r in reports if r.get("note")]
    return merged


class GeneratorGroup:
    """``n`` streams over ``processes`` generator processes.

    Args:
        keeper: starts and ends the processes.
        label: prefix of the processes' names (and log files).
        port: the server's port.
        paths: request targets, round-robin.
        n: streams in all.
        processes: generator processes (at most ``n``).
        source_base: generator ``i`` connects from ``127.0.<source_base>.<i + 2>``.
        job: other :class:`~bench.loadgen.Job` fields, the same for every process.
    """

    def __init__(
        self,
        keeper: ProcessKeeper,
        label: str,
        *,
        port: int,
        paths: list[str],
        n: int,
        processes: int,
        source_base: int = 0,
        **job: Any,
    ) -> None:
        processes = max(1, min(processes, n))
        share, extra = divmod(n, processes)
        self.generators: list[LoadGenerator] = []
        try:
            for i in range(processes):
                count = share + (1 if i < extra else 0)
                spec = Job(port=port, n=count, paths=paths, source_ip=f"127.0.{source_base}.{i + 2}", **job)
                self.generators.append(LoadGenerator(keeper, f"{label}-gen{i}", spec))
        except BaseException:
            for generator in self.generators:
                generator.kill()
            raise

    def wait_ramped(self, timeout_s: float) -> list[dict[str, Any]]:
        """Every generator's ``ramped`` message."""
        return [g.wait_for("ramped", timeout_s) for g in self.generators]

    def wait_done(self, timeout_s: float) -> dict[str, Any]:
        """Merged final reports of generators started with ``exit_when_done``."""
        return merge_reports([g.wait_for("report", timeout_s) for g in self.generators])

    def report(self) -> dict[str, Any]:
        """Merged reports of what has been seen so far."""
        for generator in self.generators:
            generator.send("report")
        return merge_reports([g.wait_for("report", 60.0) for g in self.generators])

    def close(self) -> dict[str, Any]:
        """Reset every connection; merged final reports of the generators still alive."""
        reports = []
        for generator in self.generators:
            if generator.process.alive():
                try:
                    reports.append(generator.close())
                except GeneratorError:
                    generator.kill()
            else:
                generator.kill()  # reaps it
        return merge_reports(reports)

    def kill(self) -> None:
        """SIGKILL every generator (used on failure)."""
        for generator in self.generators:
            generator.kill()
