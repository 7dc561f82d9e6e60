"""The scenarios of issue 6, in the order a run goes through them.

Each is a function ``run(bench) -> dict`` whose ``rows`` (one per server,
and per level where there are levels) go to the JSON file and the tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.context import Bench
from bench.scenarios.disconnects import run_disconnects
from bench.scenarios.fanout import run_fanout
from bench.scenarios.idle import run_idle
from bench.scenarios.storm import run_storm
from bench.scenarios.wallet import run_big_wallet, run_whole_wallet

__all__ = ["SCENARIOS", "WALLETDOCTOR_ONLY"]

SCENARIOS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "idle": run_idle,
    "storm": run_storm,
    "fanout": run_fanout,
    "disconnects": run_disconnects,
    "whole-wallet": run_whole_wallet,
    "big-wallet": run_big_wallet,
}
#: Scenarios that only WalletDoctor runs (the peers have no upstream to fetch from).
WALLETDOCTOR_ONLY = frozenset({"whole-wallet", "big-wallet"})
