"""The circuit breaker around Helius: when it keeps failing, new calls fail at once.

One :class:`UpstreamBreaker` per process, shared by every stream through the
one :class:`~walletdoctor.helius.client.HeliusClient` (DESIGN section 2: "back
off on 429/5xx ... behind a circuit breaker"; section 1: ``UPSTREAM_UNAVAILABLE``
when the circuit is open). Without it, every new stream during an outage
spends the whole retry budget (attempts x backoff, up to a minute) before it
reports the failure, and all of them together keep hammering Helius.

States (Fowler, "CircuitBreaker"; Nygard, *Release It!*, "Circuit Breaker")::

    closed ──(failure_threshold failed calls in a row)──► open
    open ──(first call after recovery_s)──► half_open   that call is the probe
    half_open ──(probe succeeds)──► closed
    half_open ──(probe fails)──► open                    the timer starts again

What counts, per *call* (one request with all its retries), reported once
when the call ends:

- a failure: the call ended in ``UpstreamUnavailable``, ``RateLimited`` or
  ``InvalidResponse`` after its last attempt (the upstream-health errors);
- a success: an answer, or a ``RequestRejected`` (Helius answered; the
  request was ours to fix, and it says nothing against Helius' health);
- nothing: cancellation (a client left) or an error that is not Helius'.

Calls, not attempts, are counted because the retry layer already absorbs
short blips and honours ``Retry-After``: a 429 answered with a pause is
Helius pacing us, not Helius failing, and counting attempts would let one
stream's retries open the circuit for every stream. The cost is that the
first wave of calls during an outage still spends its retry budget.

Half-open admits exactly one probe; every other call fails fast until the
probe reports (several probes at once would all hit a Helius that may still
be down; Polly, "Fix effects of overhanging executions on circuit-breaker
half-open", App-vNext/Polly#223). A cancelled probe frees the slot for the
next call. The probe is marked so the client sends it as a single attempt:
its verdict then arrives within one request timeout, not a retry budget.

The breaker runs on one event loop and never awaits, so each check and
update is atomic without a lock; it is not thread-safe. Time comes from a
monotonic clock (wall-clock jumps must not open or close it).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from enum import StrEnum

from walletdoctor.helius.errors import (
    CircuitOpen,
    HeliusError,
    InvalidResponse,
    RateLimited,
    UpstreamUnavailable,
)

__all__ = [
    "DEFAULT_FAILURE_THRESHOLD",
    "DEFAULT_RECOVERY_S",
    "BreakerState",
    "StateChangeHook",
    "UpstreamBreaker",
]

log = logging.getLogger(__name__)

#: Failed calls in a row that open the circuit.
DEFAULT_FAILURE_THRESHOLD = 5
#: Seconds the circuit stays open before one probe may go through.
DEFAULT_RECOVERY_S = 10.0

#: Errors that say Helius is unhealthy. ``CircuitOpen`` is one too, but it is
#: raised before a call is admitted, so it never reaches the bookkeeping.
_HEALTH_ERRORS = (UpstreamUnavailable, RateLimited, InvalidResponse)


class BreakerState(StrEnum):
    """Where the circuit is; the values are the strings metrics and ``/health`` show."""

    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


#: Called as ``hook(breaker_name, old_state, new_state)`` right after each transition.
StateChangeHook = Callable[[str, BreakerState, BreakerState], None]


class UpstreamBreaker:
    """A consecutive-failure circuit breaker with a single half-open probe.

    Args:
        name: names the circuit in logs, errors and metrics (e.g. ``"helius"``).
        failure_threshold: failed calls in a row that open the circuit (>= 1).
        recovery_s: seconds the circuit stays open before one probe (> 0).
        on_state_change: :data:`StateChangeHook`, e.g. a metrics gauge; an
            error it raises is logged and does not affect the call.
        clock: monotonic seconds; tests pass a fake one.

    Raises:
        ValueError: a threshold below 1 or a recovery time that is not positive.
    """

    def __init__(
        self,
        name: str = "helius",
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        recovery_s: float = DEFAULT_RECOVERY_S,
        on_state_change: StateChangeHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if not recovery_s > 0:
            raise ValueError("recovery_s must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.recovery_s = recovery_s
        self._on_state_change = on_state_change
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state. ``open`` turns ``half_open`` at the first call after ``recovery_s``."""
        return self._state

    @property
    def failures(self) -> int:
        """Failed calls in a row while closed (0 after any success)."""
        return self._failures

    @contextlib.contextmanager
    def guard(self, endpoint: str) -> Iterator[bool]:
        """Admit one call to ``endpoint`` and record how it ends.

        Yields ``True`` when the call is the half-open probe (send it as one
        attempt), else ``False``. The outcome is taken from how the ``with``
        block ends (see the module docstring); the exception, if any, is re-raised.

        Raises:
            CircuitOpen: before the block runs, when the circuit is open or a
                probe is already in flight; ``retry_after_s`` says when a
                probe may go (0 while one is in flight).
        """
        probe = self._admit(endpoint)
        try:
            yield probe
        except _HEALTH_ERRORS:
            self._record_failure(probe)
            raise
        except HeliusError:
            self._record_success(probe)
            raise
        except BaseException:
            # Cancellation or our own bug: no evidence either way, but a
            # probe must give its slot back or half-open would refuse forever.
            if probe:
                self._probing = False
            raise
        else:
            self._record_success(probe)

    def _admit(self, endpoint: str) -> bool:
        if self._state is BreakerState.CLOSED:
            return False
        if self._state is BreakerState.OPEN:
            remaining = self._opened_at + self.recovery_s - self._clock()
            if remaining > 0:
                raise CircuitOpen(f"circuit {self.name} is open", endpoint=endpoint, retry_after_s=remaining)
            self._transition(BreakerState.HALF_OPEN)
        if self._probing:
            raise CircuitOpen(
                f"circuit {self.name} is half-open with a probe in flight", endpoint=endpoint, retry_after_s=0.0
            )
        self._probing = True
        return True

    def _record_failure(self, probe: bool) -> None:
        if probe:
            self._probing = False
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()
        # Late outcomes of calls admitted before the circuit opened are
        # ignored: they would only restart the timer the probe is waiting on.

    def _record_success(self, probe: bool) -> None:
        if probe:
            self._probing = False
            self._failures = 0
            self._transition(BreakerState.CLOSED)
        elif self._state is BreakerState.CLOSED:
            self._failures = 0

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if new is BreakerState.OPEN:
            log.warning("circuit %s open: failing fast for %.1f s", self.name, self.recovery_s)
        else:
            log.info("circuit %s %s (was %s)", self.name, new.value, old.value)
        if self._on_state_change is None:
            return
        try:
            self._on_state_change(self.name, old, new)
        except Exception:
            # The transition has happened; a broken metrics hook must not
            # turn a Helius call's outcome into an unrelated error.
            log.exception("circuit %s: on_state_change hook failed", self.name)
