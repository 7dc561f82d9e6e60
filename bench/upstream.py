"""The Helius emulator as the bench runs it: its own process on the load CPU, steered over HTTP.

One emulator serves a whole bench run; each scenario sets its latency and
rate limits with ``PATCH /_emulator/settings`` before it starts
(``walletdoctor/helius/emulator/settings.py`` documents the fields) and
reads ``GET /_emulator/stats`` after. Its Birdeye routes live under
``/birdeye`` on the same port.

The wallets it serves, besides the bundled real one, are synthetic
(generated from their address, O(1) memory), so any size costs nothing
until it is fetched.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from typing import Any

import base58

from bench.generators import LOAD_CPU
from bench.probe import free_port, request_json, wait_until_ready
from bench.processes import ProcessKeeper, Spawned

__all__ = [
    "FANOUT_WALLET",
    "FANOUT_WALLET_SIZE",
    "FANOUT_WALLET_TRADES",
    "HELIUS_DEFAULTS",
    "IDLE_WALLET",
    "INSTANT",
    "REAL_WALLET",
    "Emulator",
    "big_wallet_address",
]


def _address(label: str) -> str:
    """A valid base58 address derived from ``label`` (as the test suite's ``wallet_address``)."""
    return base58.b58encode(hashlib.sha256(label.encode()).digest()).decode()


#: The bundled real wallet (7,439 transactions, 6,483 trades).
REAL_WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"
#: Synthetic wallet whose 5,979 transactions hold exactly 5,000 trades: 50
#: ``trades`` events of 100 (measured with the emulator's generator and
#: WalletDoctor's extraction; the fan-out checks it in every run).
FANOUT_WALLET = _address("walletdoctor-bench-fanout")
FANOUT_WALLET_SIZE = 5_979
FANOUT_WALLET_TRADES = 5_000
#: Synthetic wallet of the idle streams (its upstream never answers in time).
IDLE_WALLET = _address("walletdoctor-bench-idle")
_BIG_WALLET = _address("walletdoctor-bench-big")

#: The emulator's own defaults (Helius-like latency, Business-plan limits).
HELIUS_DEFAULTS: dict[str, Any] = {
    "rpc_latency_s": 0.150,
    "das_latency_s": 0.150,
    "enhanced_latency_s": 0.600,
    "latency_jitter": 0.20,
    "rpc_rps": 200,
    "enhanced_rps": 50,
}
#: No latency and no rate limit: the upstream costs only its own CPU.
INSTANT: dict[str, Any] = {
    "rpc_latency_s": 0.0,
    "das_latency_s": 0.0,
    "enhanced_latency_s": 0.0,
    "latency_jitter": 0.0,
    "rpc_rps": 0,
    "enhanced_rps": 0,
}


def big_wallet_address() -> str:
    """The synthetic wallet of the big-wallet scenario (its size is set per preset)."""
    return _BIG_WALLET


@dataclass
class Emulator:
    """A running ``walletdoctor emulator`` process."""

    process: Spawned
    url: str

    @classmethod
    def start(cls, keeper: ProcessKeeper, env: dict[str, str], synthetic: dict[str, int]) -> Emulator:
        """Start the emulator on a free port of 127.0.0.1, pinned to the load CPU.

        Raises:
            TimeoutError: it did not answer within 60 s (its log says why).
        """
        port = free_port()
        command = [sys.executable, "-m", "walletdoctor", "emulator", "--host", "127.0.0.1", "--port", str(port)]
        for address, size in synthetic.items():
            command += ["--synthetic", f"{address}={size}"]
        process = keeper.start("emulator", command, cpu=LOAD_CPU, env=env)
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{url}/_emulator/settings", 60.0, alive=process.alive)
        return cls(process, url)

    def walletdoctor_env(self, **settings: Any) -> dict[str, str]:
        """``walletdoctor serve``'s environment: upstream = this emulator, limits lifted,
        plus ``settings`` (names as in ``walletdoctor.config``, upper-cased)."""
        env = {
            "ENV": "development",
            "LOG_LEVEL": "WARNING",
            "HELIUS_API_KEY": "bench-helius-key",
            "HELIUS_API_URL": self.url,
            "HELIUS_RPC_URL": self.url,
            "RATE_LIMIT_PER_MINUTE": "1000000000",
            "MAX_STREAMS_PER_KEY": "1000000",
        }
        env.update({name.upper(): str(value) for name, value in settings.items()})
        return env

    def configure(self, **changes: Any) -> dict[str, Any]:
        """``PATCH /_emulator/settings``; returns the settings now in force."""
        result: dict[str, Any] = request_json(f"{self.url}/_emulator/settings", method="PATCH", body=changes)
        return result

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats`` without the request log."""
        result: dict[str, Any] = request_json(f"{self.url}/_emulator/stats?log=0")
        return result

    def reset_stats(self) -> None:
        """``POST /_emulator/stats/reset``."""
        request_json(f"{self.url}/_emulator/stats/reset", method="POST")

    def requests_by_endpoint(self) -> dict[str, int]:
        """Requests answered so far per endpoint class."""
        return {name: int(e["requests"]) for name, e in self.stats()["endpoints"].items()}
