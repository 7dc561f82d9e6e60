"""The reconnect schedule: 1, 2, 4 s capped at 5 s, jitter only shortens, server hints are floors."""

from __future__ import annotations

import random

import pytest

from walletdoctor.client.backoff import Backoff


def test_steps_double_and_cap() -> None:
    backoff = Backoff()
    assert [backoff.step(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.step(10_000) == 5.0


def test_without_jitter_the_delay_is_the_step() -> None:
    backoff = Backoff(jitter=0)
    rng = random.Random(1)
    assert [backoff.delay(n, rng) for n in range(1, 5)] == [1.0, 2.0, 4.0, 5.0]


def test_equal_jitter_spreads_within_half_to_full_step() -> None:
    backoff = Backoff()
    rng = random.Random(3)
    delays = [backoff.delay(3, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 1.0, "delays are spread, not all equal"


def test_retry_hint_and_retry_after_are_floors_bounded_by_the_ceiling() -> None:
    backoff = Backoff(jitter=0, ceiling_s=30)
    rng = random.Random(0)
    assert backoff.delay(1, rng, retry_hint_s=3.0) == 3.0
    assert backoff.delay(3, rng, retry_hint_s=3.0) == 4.0
    assert backoff.delay(1, rng, retry_hint_s=0.5, retry_after_s=7) == 7.0
    assert backoff.delay(1, rng, retry_after_s=3600) == 30.0


def test_a_hint_is_never_undercut_by_jitter() -> None:
    backoff = Backoff()
    rng = random.Random(5)
    assert min(backoff.delay(2, rng, retry_hint_s=1.8) for _ in range(100)) >= 1.8


@pytest.mark.parametrize(
    "options",
    [{"initial_s": -1}, {"factor": 0.5}, {"jitter": 1.5}, {"max_attempts": 0}, {"ceiling_s": -1}],
)
def test_invalid_schedules_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**options)  # type: ignore[arg-type]


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        Backoff().step(0)
