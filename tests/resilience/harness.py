"""The resilience suite's yardstick: run clients through a fault, compare with an uninterrupted run.

Every scenario streams one wallet to several :class:`~walletdoctor.client.WalletStream`
clients while a fault strikes, then scores them signature by signature
against a reference run without faults:

- completed: streams that reached ``complete``;
- trades lost: reference signatures a stream never delivered;
- trades duplicated: signatures a stream delivered more than once;
- reconnect times: from a connection's loss to the first event of the next.

Each result is appended to a JSON file (``test-output/resilience.json``
unless ``WALLETDOCTOR_RESILIENCE_RESULTS`` names another), so that a run
leaves its figures behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from walletdoctor.client import Backoff, TradesEvent, WalletStream

__all__ = ["RESULTS_PATH", "Run", "ScenarioResult", "follow_all", "record", "reference_signatures", "score"]

RESULTS_PATH = Path(os.environ.get("WALLETDOCTOR_RESILIENCE_RESULTS", Path(__file__).resolve().parents[2] / "test-output" / "resilience.json"))


@dataclass
class Run:
    """One client's stream: what it delivered and how it reconnected."""

    stream: WalletStream
    signatures: list[str]
    error: str | None = None


@dataclass
class ScenarioResult:
    """The figures of one scenario (times in seconds)."""

    scenario: str
    streams: int
    completed: int
    trades_expected: int
    trades_lost: int
    trades_duplicated: int
    out_of_order: int
    reconnects: int
    reconnect_p50_s: float | None
    reconnect_p95_s: float | None
    duplicates_dropped_by_client: int
    errors: list[str] = field(default_factory=list)
    faults: dict[str, Any] = field(default_factory=dict)

    @property
    def completion_rate(self) -> float:
        return self.completed / self.streams if self.streams else 0.0


async def reference_signatures(url: str, wallet: str, **options: Any) -> list[str]:
    """The trades of an uninterrupted stream, in order."""
    run = await _follow(url, wallet, None, 0, **options)
    assert run.stream.complete is not None, run.error
    return run.signatures


async def follow_all(
    url: str,
    wallet: str,
    streams: int,
    *,
    on_trades: Callable[[], None] | None = None,
    **options: Any,
) -> list[Run]:
    """Run ``streams`` clients to the end (or their failure) at once; ``on_trades`` is
    called on every ``trades`` event any of them gets (to time a fault)."""
    return list(await asyncio.gather(*(_follow(url, wallet, on_trades, n, **options) for n in range(streams))))


async def _follow(url: str, wallet: str, on_trades: Callable[[], None] | None, seed: int, **options: Any) -> Run:
    options.setdefault("backoff", Backoff(initial_s=0.2, cap_s=1.0, max_attempts=30))
    stream = WalletStream(url, wallet, rng=random.Random(seed), **options)
    signatures: list[str] = []
    error = None
    try:
        async with stream:
            async for event in stream:
                if isinstance(event, TradesEvent):
                    signatures.extend(trade.signature for trade in event.trades)
                    if on_trades is not None:
                        on_trades()
    except Exception as exc:  # every failure is a figure of the scenario, not a crash of the suite
        error = f"{type(exc).__name__}: {exc}"
    return Run(stream, signatures, error)


def score(scenario: str, reference: list[str], runs: list[Run], faults: dict[str, Any] | None = None) -> ScenarioResult:
    """Compare every run with ``reference``, signature by signature."""
    expected = set(reference)
    lost = duplicated = out_of_order = 0
    durations: list[float] = []
    for run in runs:
        counts = Counter(run.signatures)
        lost += len(expected - counts.keys())
        duplicated += sum(n - 1 for n in counts.values() if n > 1)
        out_of_order += int(list(dict.fromkeys(run.signatures)) != reference[: len(counts)])
        durations.extend(r.duration_s for r in run.stream.reconnects if r.duration_s is not None)
    return ScenarioResult(
        scenario=scenario,
        streams=len(runs),
        completed=sum(1 for run in runs if run.stream.complete is not None),
        trades_expected=len(reference),
        trades_lost=lost,
        trades_duplicated=duplicated,
        out_of_order=out_of_order,
        reconnects=sum(len(run.stream.reconnects) for run in runs),
        reconnect_p50_s=_percentile(durations, 50),
        reconnect_p95_s=_percentile(durations, 95),
        duplicates_dropped_by_client=sum(run.stream.duplicates_dropped for run in runs),
        errors=sorted({run.error for run in runs if run.error}),
        faults=faults or {},
    )


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 3)


def record(result: ScenarioResult) -> None:
    """Append ``result`` to :data:`RESULTS_PATH` (a JSON object keyed by scenario) and print it."""
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    try:
        results = json.loads(RESULTS_PATH.read_text())
    except (OSError, ValueError):
        results = {}
    results[result.scenario] = {**asdict(result), "completion_rate": result.completion_rate}
    RESULTS_PATH.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(
        f"{result.scenario}: {result.completed}/{result.streams} complete, lost {result.trades_lost}, "
        f"duplicated {result.trades_duplicated}, reconnects {result.reconnects} "
        f"(p50 {result.reconnect_p50_s} s, p95 {result.reconnect_p95_s} s)"
    )
