"""How long to wait before each reconnect: exponential backoff with jitter, and the server's hints.

For the ``n``-th reconnect attempt in a row without progress (``n`` = 1, 2, ...)::

    step    = min(cap_s, initial_s * factor ** (n - 1))        1, 2, 4, 5, 5 ... s
    jittered = step * (1 - jitter * U)      U uniform in [0, 1): with jitter 0.5, in [step/2, step)
    floor   = min(ceiling_s, max(retry hint, Retry-After))    0 when the server gave neither
    delay   = max(jittered, floor)

How the two combine: the server's ``retry:`` field is the *reconnection
time* of WHATWG HTML 9.2 ("wait ... then optionally wait some more ...
exponential backoff"), so it is a minimum the client never undercuts; the
client's own schedule can only lengthen the wait. The same holds for a
refusal's ``Retry-After`` (RFC 9110 section 10.2.3). The cap bounds the
client's schedule, not the server's hints; those are bounded by
``ceiling_s`` instead, so that a misconfigured server cannot park a client
for hours. Jitter only shortens the step ("equal jitter" at 0.5), so that
clients cut at the same moment (a deploy, a network handoff) spread their
reconnects instead of arriving together, and ``cap_s`` stays a hard bound.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_ATTEMPTS", "Backoff"]

#: Reconnects in a row without a new event before giving up: with the
#: default schedule, about 20 to 32 s of trying (1 + 2 + 4 + 5 x 5 at most).
DEFAULT_MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Backoff:
    """The reconnect schedule (seconds) and its bound.

    Attributes:
        initial_s: the first step.
        factor: growth of each step.
        cap_s: largest step of the client's own schedule.
        jitter: share of each step that is randomized away (0: none, 1: full jitter).
        max_attempts: reconnects in a row without progress before
            :class:`~walletdoctor.client.errors.ReconnectsExhausted`.
        ceiling_s: largest wait a server's ``retry:`` or ``Retry-After`` may impose.

    Raises:
        ValueError: a negative time, ``factor`` below 1, ``jitter`` outside
            0..1, or ``max_attempts`` below 1.
    """

    initial_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 5.0
    jitter: float = 0.5
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ceiling_s: float = 60.0

    def __post_init__(self) -> None:
        if min(self.initial_s, self.cap_s, self.ceiling_s) < 0:
            raise ValueError("backoff times must not be negative")
        if self.factor < 1:
            raise ValueError("backoff factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within 0..1")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def step(self, attempt: int) -> float:
        """The schedule's step for reconnect ``attempt`` (1-based), before jitter and hints."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        # Stop multiplying once past the cap: factor ** attempt overflows for large attempts.
        step = self.initial_s
        for _ in range(attempt - 1):
            if step >= self.cap_s:
                break
            step *= self.factor
        return min(self.cap_s, step)

    def delay(
        self,
        attempt: int,
        rng: random.Random,
        *,
        retry_hint_s: float | None = None,
        retry_after_s: float | None = None,
    ) -> float:
        """Seconds to wait before reconnect ``attempt`` (1-based); see the module docstring.

        Args:
            rng: the source of jitter (seed it for reproducible schedules).
            retry_hint_s: the server's latest ``retry:`` value, in seconds.
            retry_after_s: the ``Retry-After`` of the refusal that ended the last attempt.
        """
        jittered = self.step(attempt) * (1 - self.jitter * rng.random())
        floor = min(self.ceiling_s, max(retry_hint_s or 0.0, retry_after_s or 0.0))
        return max(jittered, floor)
