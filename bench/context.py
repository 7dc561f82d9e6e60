"""What every scenario gets: the preset, the process keeper, the server launcher, the emulator.

Also the two WalletDoctor set-ups the scenarios share:

- *quiet* (idle, storm, disconnects): every stream asks the emulator for
  the same synthetic wallet's signatures, and the emulator takes an hour
  to answer. Each stream then sits where a stream of a slow upstream
  sits, ``connected`` and heartbeats, with its fetch pending: at most
  ``HELIUS_CONNECTIONS`` (256) requests wait inside the emulator, the
  rest wait for a connection in WalletDoctor's pool. One wallet for all,
  as the peers serve one workload to all; once concurrent streams of a
  wallet share a fetch, they will share this one.
- *unthrottled* (fan-out, big wallet): no latency, no rate limit at the
  emulator, and WalletDoctor's own limits on Helius calls lifted, so
  that only CPU bounds the run.

Per-key limits (50 requests a minute, 10 streams) are lifted for every
run: the load comes from a handful of loopback addresses.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.presets import Preset
from bench.processes import ProcessKeeper
from bench.servers import Launcher, RunningServer
from bench.upstream import INSTANT, Emulator

__all__ = ["QUIET_UPSTREAM_S", "Bench"]

#: How long the quiet set-up's upstream takes to answer, seconds.
QUIET_UPSTREAM_S = 3600.0


@dataclass
class Bench:
    """A bench run in progress."""

    preset: Preset
    keeper: ProcessKeeper
    launcher: Launcher
    servers: list[str]
    out_dir: Path
    emulator: Emulator | None = None
    profile: bool = False
    say: Callable[[str], None] = print
    notes: list[str] = field(default_factory=list)

    def start(
        self, name: str, *, capacity: int, setup: str = "quiet", command: list[str] | None = None, **settings: Any
    ) -> RunningServer:
        """Start server ``name`` for a scenario; for WalletDoctor, set the emulator up first.

        ``setup`` is ``quiet`` or ``unthrottled`` (module docstring), or
        ``as-is`` to leave the emulator alone; ``settings`` are extra
        WalletDoctor settings; ``command`` replaces ``walletdoctor serve``.
        """
        env = None
        if name == "walletdoctor":
            assert self.emulator is not None
            if setup == "quiet":
                self.emulator.configure(**(INSTANT | {"rpc_latency_s": QUIET_UPSTREAM_S}))
                settings = {"helius_timeout_s": 2 * QUIET_UPSTREAM_S} | settings
            elif setup == "unthrottled":
                self.emulator.configure(**INSTANT)
                settings = {"helius_rps": 1_000_000, "helius_rpc_rps": 1_000_000} | settings
            env = self.emulator.walletdoctor_env(**settings)
        return self.launcher.start(
            name, heartbeat_s=self.preset.heartbeat_s, capacity=capacity, walletdoctor_env=env,
            walletdoctor_command=command,
        )

    def measure(self, scenario: str, server: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``run()``'s row, or an error row ``{"server", "error"}`` if it raised: one server's
        failure must not lose the other servers' figures."""
        try:
            return run()
        except Exception as exc:
            traceback.print_exc()
            self.say(f"{scenario} {server} failed: {type(exc).__name__}: {exc}")
            return {"server": server, "error": f"{type(exc).__name__}: {exc}"}

    def stop(self, server: RunningServer) -> None:
        """End a server."""
        self.launcher.stop(server)

    @staticmethod
    def wait_released(
        server: RunningServer, at_most: int, timeout_s: float, *, poll_s: float = 0.02, since: float | None = None
    ) -> float | None:
        """Seconds from ``since`` (monotonic; default now) until the server counts at most ``at_most``
        open streams; ``None`` if that does not happen within ``timeout_s``."""
        started = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            active = server.active_streams()
            if active is not None and active <= at_most:
                return time.monotonic() - started
            time.sleep(poll_s)
        return None
