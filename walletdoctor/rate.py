"""The per-process request rate to an upstream (Helius, Birdeye): a sliding window, granted by priority.

Helius and Birdeye count requests per second per key and answer 429 past
the limit (FACTS 1.6; Birdeye "Rate Limiting"); both count in any span of
a second. A limiter that spaces requests evenly (one every 1/rps seconds)
never bursts, which keeps 429s away but makes a stream's first 50 parse
requests take a second to leave instead of leaving at once: the history
arrives late for no reason. A leaky bucket lets up to twice the rate
through some second, each excess request costing a 429 and a backoff.
This one lets up to ``rate`` requests go in any window of ``period_s``, as
the upstream counts them:

- :meth:`RequestRate.acquire` counts a request from when it leaves (plus a
  small margin for the jitter between leaving here and arriving there):
  the most requests a window allows, for an upstream whose answers take a
  while (Helius' parse requests, 600 ms);
- :meth:`RequestRate.slot` holds the request's place until it has ended,
  then counts it from then: whatever the network's delays, no window at
  the server sees more than ``rate`` (Birdeye, where 429s are costly and
  answers quick).

Waiting requests are granted by priority, then in arrival order: a symbol
look-up (DAS) that a stream's next batch waits for goes ahead of the
parse requests queued before it. Going ahead in the queue is not enough
when there is no queue yet: a stream's first parse requests take a whole
window at once (they should: they bring its first trades), and a look-up
asked for a moment later would wait for that window to pass. So a few
places of each window (``reserve``) are kept for high-priority requests.
A request may also be raised while it waits (:class:`Priority`): a price
prefetch that a stream comes to wait for moves to the head of the queue.

Not a library limiter: aiolimiter is a leaky bucket without priorities, and
the ``limits`` package checks a window but does not make callers wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

__all__ = ["DEFAULT_MARGIN_S", "HIGH_PRIORITY", "NORMAL_PRIORITY", "Priority", "RequestRate"]

HIGH_PRIORITY = 0
NORMAL_PRIORITY = 1
#: Added to the window so that requests that leave a window apart never
#: arrive inside one window upstream, seconds.
DEFAULT_MARGIN_S = 0.02


class Priority:
    """A request's priority that may be raised while it waits for its grant: a
    prefetch that a stream comes to wait for goes to the head of the queue.

    Pass it where a :class:`RequestRate` takes an ``int`` priority; then
    :meth:`raise_to` moves the waiting request up in that limiter's queue.
    """

    __slots__ = ("_rate", "value")

    def __init__(self, value: int) -> None:
        self.value = value
        self._rate: RequestRate | None = None

    # Queue entries are (priority, arrival, ...) tuples: equal priorities must
    # compare equal for arrival order to decide.
    def __lt__(self, other: Priority) -> bool:
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Priority) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]  # mutable

    def raise_to(self, value: int) -> None:
        """Make the priority ``value`` if that is higher (lower number); a waiting
        request moves up at once, one not yet asked for or already granted is
        simply asked for at ``value``."""
        if value < self.value:
            self.value = value
            if self._rate is not None:
                self._rate.reorder()


class RequestRate:
    """At most ``rate`` grants in any ``period_s`` window (plus ``margin_s``).

    Args:
        rate: requests per ``period_s``; a fraction below 1 becomes one
            request per ``period_s / rate``.
        period_s: the window, seconds.
        margin_s: added to the window, seconds.
        reserve: places of each window that only :data:`HIGH_PRIORITY`
            requests may take.
        clock: monotonic seconds (injectable for tests).

    Raises:
        ValueError: ``rate`` or ``period_s`` not positive, or ``reserve`` not
            below the requests a window allows.
    """

    def __init__(
        self,
        rate: float,
        period_s: float = 1.0,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        reserve: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or period_s <= 0:
            raise ValueError("rate and period_s must be positive")
        self._capacity = max(1, int(rate))
        if not 0 <= reserve < self._capacity:
            raise ValueError(f"reserve must be 0..{self._capacity - 1}")
        #: Places in a window for requests of normal priority.
        self._normal_capacity = self._capacity - reserve
        self._window_s = period_s * self._capacity / rate + margin_s
        self._clock = clock
        #: When each counted request left (acquire) or ended (slot), oldest first.
        self._granted: deque[float] = deque()
        #: Requests granted by :meth:`slot` that have not ended yet.
        self._in_flight = 0
        self._waiters: list[tuple[Priority, int, bool, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, priority: int | Priority = NORMAL_PRIORITY) -> None:
        """Wait for a grant, counted from now; lower ``priority`` values go first.
        Cancellation gives up the place."""
        await self._grant(priority, hold=False)

    @contextlib.asynccontextmanager
    async def slot(self, priority: int | Priority = NORMAL_PRIORITY) -> AsyncIterator[None]:
        """Hold a place for one request until the block ends; it counts from then."""
        await self._grant(priority, hold=True)
        try:
            yield
        finally:
            self._in_flight -= 1
            self._granted.append(self._clock())
            if self._waiters:
                self._pump()

    def reorder(self) -> None:
        """A waiting request's :class:`Priority` was raised: restore the queue's order
        and grant what may go now."""
        heapq.heapify(self._waiters)
        self._pump()

    async def _grant(self, priority: int | Priority, *, hold: bool) -> None:
        waiting = priority if isinstance(priority, Priority) else Priority(priority)
        if not self._waiters and self._free(self._clock(), waiting.value):
            self._take(hold)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (waiting, next(self._order), hold, future))
        waiting._rate = self
        try:
            self._pump()
            await future
        finally:
            waiting._rate = None

    def _take(self, hold: bool) -> None:
        if hold:
            self._in_flight += 1
        else:
            self._granted.append(self._clock())

    def _free(self, now: float, priority: int) -> bool:
        granted = self._granted
        while granted and granted[0] <= now - self._window_s:
            granted.popleft()
        capacity = self._capacity if priority <= HIGH_PRIORITY else self._normal_capacity
        return len(granted) + self._in_flight < capacity

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    def _pump(self) -> None:
        now = self._clock()
        waiters = self._waiters
        while waiters and self._free(now, waiters[0][0].value):
            _, _, hold, future = heapq.heappop(waiters)
            if not future.done():  # a cancelled waiter gave its place up
                future.set_result(None)
                self._take(hold)
        while waiters and waiters[0][3].done():
            heapq.heappop(waiters)
        if waiters and self._timer is None and self._granted:
            delay = max(0.0, self._granted[0] + self._window_s - now)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
