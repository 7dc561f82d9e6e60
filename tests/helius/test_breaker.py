"""The Helius circuit breaker's state machine, on a fake clock (no network, no sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from walletdoctor.helius.breaker import BreakerState, UpstreamBreaker
from walletdoctor.helius.errors import (
    CircuitOpen,
    InvalidResponse,
    RateLimited,
    RequestRejected,
    UpstreamUnavailable,
)

ENDPOINT = "rpc_signatures"


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An ``on_state_change`` hook that keeps every transition."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, BreakerState, BreakerState]] = []

    def __call__(self, name: str, old: BreakerState, new: BreakerState) -> None:
        self.changes.append((name, old, new))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def changes() -> Recorder:
    return Recorder()


@pytest.fixture
def breaker(clock: FakeClock, changes: Recorder) -> UpstreamBreaker:
    return UpstreamBreaker("helius", failure_threshold=3, recovery_s=10.0, on_state_change=changes, clock=clock)


def fail(breaker: UpstreamBreaker, error: BaseException | None = None) -> None:
    """One call that ends in ``error`` (an upstream 503 unless told otherwise)."""
    with pytest.raises(type(error) if error else UpstreamUnavailable), breaker.guard(ENDPOINT):
        raise error or UpstreamUnavailable("HTTP 503", endpoint=ENDPOINT, status=503)


def succeed(breaker: UpstreamBreaker) -> bool:
    """One call that gets an answer; returns whether it was the probe."""
    with breaker.guard(ENDPOINT) as probe:
        return probe


def open_breaker(breaker: UpstreamBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        fail(breaker)
    assert breaker.state == "open"


def test_it_opens_after_the_threshold_of_failed_calls_in_a_row(breaker: UpstreamBreaker, changes: Recorder) -> None:
    fail(breaker)
    fail(breaker)
    assert breaker.state == "closed" and breaker.failures == 2
    fail(breaker)
    assert breaker.state == "open"
    assert changes.changes == [("helius", BreakerState.CLOSED, BreakerState.OPEN)]


def test_a_success_resets_the_count(breaker: UpstreamBreaker) -> None:
    fail(breaker)
    fail(breaker)
    assert not succeed(breaker)
    assert breaker.failures == 0
    fail(breaker)
    fail(breaker)
    assert breaker.state == "closed"


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnavailable("timed out", endpoint=ENDPOINT),
        RateLimited("HTTP 429", endpoint=ENDPOINT, retry_after=1.0),
        InvalidResponse("not JSON", endpoint=ENDPOINT, status=200),
    ],
    ids=["unavailable", "rate_limited", "invalid"],
)
def test_every_upstream_health_error_counts(breaker: UpstreamBreaker, error: BaseException) -> None:
    for _ in range(3):
        fail(breaker, error)
    assert breaker.state == "open"


def test_an_open_circuit_refuses_without_running_the_call(breaker: UpstreamBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.now += 4.0
    ran = False
    with pytest.raises(CircuitOpen) as caught, breaker.guard(ENDPOINT):
        ran = True
    assert not ran
    assert isinstance(caught.value, UpstreamUnavailable), "streams report it as UPSTREAM_UNAVAILABLE"
    assert caught.value.endpoint == ENDPOINT
    assert caught.value.retry_after_s == pytest.approx(6.0)


def test_it_half_opens_after_the_recovery_time_and_a_good_probe_closes_it(
    breaker: UpstreamBreaker, clock: FakeClock, changes: Recorder
) -> None:
    open_breaker(breaker)
    clock.now += 10.0
    assert breaker.state == "open", "half-open only when a call arrives"
    with breaker.guard(ENDPOINT) as probe:
        assert probe
        assert breaker.state == "half_open"
    assert breaker.state == "closed"
    assert [new for _, _, new in changes.changes] == ["open", "half_open", "closed"]
    assert not succeed(breaker), "closed again: ordinary calls, no probe"


def test_a_bad_probe_reopens_it_for_another_recovery_time(breaker: UpstreamBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.now += 10.0
    fail(breaker)
    assert breaker.state == "open"
    clock.now += 9.0
    with pytest.raises(CircuitOpen):
        succeed(breaker)
    clock.now += 1.0
    assert succeed(breaker)
    assert breaker.state == "closed"


def test_half_open_lets_one_probe_through_at_a_time(breaker: UpstreamBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.now += 10.0
    with breaker.guard(ENDPOINT) as probe:
        assert probe
        for _ in range(5):
            with pytest.raises(CircuitOpen) as caught:
                succeed(breaker)
            assert caught.value.retry_after_s == 0.0
    assert breaker.state == "closed"


def test_request_rejected_does_not_trip_it(breaker: UpstreamBreaker, clock: FakeClock) -> None:
    rejected = RequestRejected("HTTP 401", endpoint=ENDPOINT, status=401)
    for _ in range(10):
        fail(breaker, rejected)
    assert breaker.state == "closed" and breaker.failures == 0
    fail(breaker)
    fail(breaker)
    fail(breaker, rejected)
    assert breaker.failures == 0, "Helius answered: the failures before are no longer in a row"
    open_breaker(breaker)
    clock.now += 10.0
    fail(breaker, rejected)
    assert breaker.state == "closed", "a probe Helius answered, even with a refusal, closes it"


def test_a_cancelled_probe_frees_the_slot_and_proves_nothing(breaker: UpstreamBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.now += 10.0
    with pytest.raises(asyncio.CancelledError), breaker.guard(ENDPOINT) as probe:
        assert probe
        raise asyncio.CancelledError
    assert breaker.state == "half_open"
    assert succeed(breaker), "the next call is the probe"
    assert breaker.state == "closed"


def test_cancelled_calls_and_our_own_bugs_do_not_count(breaker: UpstreamBreaker) -> None:
    fail(breaker)
    fail(breaker)
    fail(breaker, asyncio.CancelledError())
    fail(breaker, KeyError("bug"))
    assert breaker.state == "closed" and breaker.failures == 2


def test_late_outcomes_of_calls_admitted_before_it_opened_are_ignored(
    breaker: UpstreamBreaker, clock: FakeClock
) -> None:
    """A slow call that started while closed and fails after the circuit opened
    must not restart the recovery timer, and a slow success must not close it."""
    slow_success, slow_failure = breaker.guard(ENDPOINT), breaker.guard(ENDPOINT)
    with slow_success, pytest.raises(UpstreamUnavailable), slow_failure:
        open_breaker(breaker)
        clock.now += 5.0
        raise UpstreamUnavailable("HTTP 502", endpoint=ENDPOINT, status=502)
    assert breaker.state == "open"
    clock.now += 5.0
    assert succeed(breaker), "10 s after opening (5 s after the late failure) the probe goes"


def test_a_failing_hook_does_not_change_the_call_outcome(clock: FakeClock) -> None:
    def broken(name: str, old: BreakerState, new: BreakerState) -> None:
        raise RuntimeError("metrics down")

    breaker = UpstreamBreaker("helius", failure_threshold=1, recovery_s=1.0, on_state_change=broken, clock=clock)
    fail(breaker)
    assert breaker.state == "open"


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"recovery_s": 0.0}, {"recovery_s": -1.0}])
def test_settings_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        UpstreamBreaker("helius", **kwargs)  # type: ignore[arg-type]
