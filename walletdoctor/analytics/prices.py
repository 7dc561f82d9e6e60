"""Historical USD prices for valuing trades: a protocol, its sources, and a chain of them.

- :class:`StablecoinPrices`: USDC and USDT are worth 1 USD, at any time.
- :class:`BirdeyePrices`: Birdeye's ``/defi/history_price`` through
  :class:`~walletdoctor.birdeye.client.BirdeyeClient`, with a short
  per-process cache of whole windows of points.
- :class:`PriceChain`: the first source that knows.

Sources that hold prices in memory also answer without awaiting
(:class:`CachingSource`, :data:`UNCACHED` where that would take a fetch): a
run of trades whose prices are all held is valued in the step that extracts
it, with no task per look-up, which is what a stream's first batch waited
for on a busy event loop (one loop turn per await, tens of ms each while
other runs' answers are decoded).

A source answers ``None`` when it does not know the price; Birdeye's
failures (rate limits, outages, malformed answers, timeouts) are logged as a
warning and answered ``None``, never raised: a trade left unpriced is better
than a stream that ends.
"""

from __future__ import annotations

import asyncio
import bisect
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol, runtime_checkable

from walletdoctor.birdeye.client import INTERVAL_SECONDS, MAX_HISTORY_ITEMS, PricePoint
from walletdoctor.birdeye.errors import BirdeyeError
from walletdoctor.rate import HIGH_PRIORITY, NORMAL_PRIORITY, Priority
from walletdoctor.solana import USD_STABLECOIN_MINTS

__all__ = [
    "DEFAULT_CACHE_TTL_S",
    "DEFAULT_CACHE_WINDOWS",
    "DEFAULT_FAILURE_TTL_S",
    "DEFAULT_FETCH_TIMEOUT_S",
    "DEFAULT_INTERVAL",
    "DEFAULT_TOLERANCE_S",
    "UNCACHED",
    "BirdeyePrices",
    "CachingSource",
    "PrefetchingSource",
    "PriceChain",
    "PriceHistoryClient",
    "PriceSource",
    "StablecoinPrices",
    "Uncached",
]

log = logging.getLogger(__name__)

#: Birdeye's ``type`` for the windows: 1,000 five-minute points span 83 h,
#: so a window serves a few days of trades with one request, and the nearest
#: point is at most 2.5 min from any trade. Counted on the real wallet: its
#: whole history takes 26 requests at 5m against 77 at 1m, its sparse newest
#: 100 trades (23 days) 9 against 20, which Starter's 15 requests a second
#: let go at once; Birdeye bills per request.
DEFAULT_INTERVAL = "5m"
#: A point farther than this from the asked time is no price for it (10 min):
#: room for a few missing points of an illiquid token, not for a stale price.
DEFAULT_TOLERANCE_S = 600
#: Windows kept per process: at most 1,000 points each, about 150 kB.
DEFAULT_CACHE_WINDOWS = 256
DEFAULT_CACHE_TTL_S = 600.0
#: After a failed fetch, every price not already cached is ``None`` this long
#: before Birdeye is asked again: an outage costs each stream at most one
#: fetch timeout per pause and the log one warning, not one per trade.
DEFAULT_FAILURE_TTL_S = 30.0
#: Longest a window's fetch may take, retries, Retry-After waits and the
#: wait for the rate limit included. A stream waits for its prices, so a slow
#: or saturated Birdeye leaves trades unpriced rather than holding streams.
DEFAULT_FETCH_TIMEOUT_S = 5.0
#: Follow-up requests for one window when answers come back cut at 1,000 items.
_MAX_PAGES = 8
_MAX_UNIX_TIME = 10_000_000_000
_ONE_USD = Decimal(1)


class PriceSource(Protocol):
    """Anything that prices a mint at a time."""

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        """USD per UI token of ``mint`` at ``unix_ts`` (unix seconds), ``None`` when unknown. Never raises."""
        ...


@runtime_checkable
class PrefetchingSource(Protocol):
    """A price source that can start fetching before it is asked, and so has
    fetches of its own in flight to stop when the process stops."""

    def prefetch(self, mint: str, times: Iterable[int], *, priority: int = NORMAL_PRIORITY) -> None:
        """Start fetching what ``price_usd(mint, t)`` will need for each of ``times``
        (unix seconds), so that the asks find it ready; ``priority``
        :data:`~walletdoctor.rate.HIGH_PRIORITY` for what a stream will surely ask
        for soon, as an ask would. Never waits, never raises."""
        ...

    async def aclose(self) -> None:
        """Cancel the fetches in flight and wait for them (before their HTTP session closes)."""
        ...


class Uncached(enum.Enum):
    """What :meth:`CachingSource.cached_price_usd` answers for a price it would have to fetch."""

    UNCACHED = "uncached"


#: The one :class:`Uncached` value.
UNCACHED = Uncached.UNCACHED


@runtime_checkable
class CachingSource(Protocol):
    """A price source that can answer from what it holds, without awaiting."""

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None | Uncached:
        """What ``price_usd(mint, unix_ts)`` would answer, if it can be known without
        a fetch (``None`` included: no price); :data:`UNCACHED` otherwise. Never raises."""
        ...


class PriceHistoryClient(Protocol):
    """The part of :class:`~walletdoctor.birdeye.client.BirdeyeClient` that :class:`BirdeyePrices` uses."""

    async def history_price(
        self, mint: str, time_from: int, time_to: int, interval: str = "1m", *, priority: int | Priority = NORMAL_PRIORITY
    ) -> list[PricePoint]:
        """Points ``(unix s, USD)`` in time order within the range; at most 1,000. Raises BirdeyeError.
        ``priority``: :data:`~walletdoctor.rate.HIGH_PRIORITY` for what a stream waits for now."""
        ...


class StablecoinPrices:
    """USD stablecoins (USDC, USDT: ``walletdoctor.solana.USD_STABLECOIN_MINTS``) at exactly 1 USD."""

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        """``Decimal(1)`` for a USD stablecoin, else ``None``."""
        return self.cached_price_usd(mint, unix_ts)

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        """The same as :meth:`price_usd`: nothing is ever fetched."""
        return _ONE_USD if mint in USD_STABLECOIN_MINTS else None


class PriceChain:
    """Asks its sources in order; the first answer that is not ``None`` wins."""

    def __init__(self, *sources: PriceSource) -> None:
        self._sources = sources
        #: Each source's answer from what it holds, up to the first that has none.
        self._cached_answers: list[Callable[[str, int], Decimal | None | Uncached]] = []
        for source in sources:
            if not isinstance(source, CachingSource):
                break
            self._cached_answers.append(source.cached_price_usd)
        self._every_source_caches = len(self._cached_answers) == len(sources)

    def prefetch(self, mint: str, times: Iterable[int], *, priority: int = NORMAL_PRIORITY) -> None:
        """Pass the hint on to every source that prefetches (see :class:`PrefetchingSource`)."""
        times = list(times)
        for source in self._sources:
            if isinstance(source, PrefetchingSource):
                source.prefetch(mint, times, priority=priority)

    async def aclose(self) -> None:
        """Close every source that has fetches of its own in flight (see :class:`PrefetchingSource`)."""
        for source in self._sources:
            if isinstance(source, PrefetchingSource):
                await source.aclose()

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None | Uncached:
        """:meth:`price_usd` from what the sources hold: :data:`UNCACHED` as soon as a
        source that would be asked cannot answer without a fetch (or cannot answer so at all)."""
        for cached_price_usd in self._cached_answers:
            price = cached_price_usd(mint, unix_ts)
            if price is not None:
                return price
        return None if self._every_source_caches else UNCACHED

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        """The first source's price of ``mint`` at ``unix_ts``, or ``None`` when none knows it."""
        for source in self._sources:
            price = await source.price_usd(mint, unix_ts)
            if price is not None:
                return price
        return None


_Series = tuple[tuple[int, ...], tuple[Decimal, ...]]


class _Window:
    """One mint's points over one bucket of time: being fetched, or fetched (``None`` if that failed)."""

    __slots__ = ("expires", "priority", "task", "waiters")

    def __init__(self, task: asyncio.Task[_Series | None], priority: Priority) -> None:
        self.task = task
        self.priority = priority
        self.waiters = 0
        self.expires = float("inf")


class BirdeyePrices:
    """Prices from Birdeye's history, fetched a window at a time and cached for a while.

    Time is cut into buckets of ``window_points`` intervals less twice the
    tolerance (4,980 minutes by default). The first ask in a bucket fetches the
    bucket plus the tolerance on each side (exactly ``window_points``
    points, Birdeye's 1,000 at most) with one request; every ask in the
    bucket, concurrent or later, shares it. The answer is the point nearest
    the asked time if it is within ``tolerance_s``, else ``None``.

    Args:
        client: a :class:`~walletdoctor.birdeye.client.BirdeyeClient` (or any
            :class:`PriceHistoryClient`).
        interval: Birdeye's ``type`` (:data:`DEFAULT_INTERVAL`: points 300 s apart).
        tolerance_s: farthest a point may be from the asked time, seconds.
        window_points: points per request, at most :data:`MAX_HISTORY_ITEMS`.
        cache_windows: windows kept (least recently used go first).
        ttl_s: how long a fetched window is reused, seconds.
        failure_ttl_s: pause after a failure, seconds.
        fetch_timeout_s: longest one window's fetch may take, seconds.
        clock: monotonic seconds, for tests.

    A failed or timed-out fetch is answered ``None`` with a warning and
    pauses new fetches for ``failure_ttl_s`` (cached windows still answer).

    A window an ask fetches goes to Birdeye at high priority, ahead of
    prefetched ones and into the places of each second kept for such
    requests (:data:`~walletdoctor.birdeye.client.ASK_RESERVE_SHARE`); a
    prefetch never takes those, so a stream's first token prices do not
    wait for the SOL prices of trades further down its history. An ask whose
    window is already being prefetched shares that fetch and raises it to
    high priority (a prefetch still waiting for its place goes first).

    Answers that come back cut at 1,000 items before the window's end
    (Birdeye documents the cap, not the one point per interval it gives) are
    followed up from after their last point. A
    waiter that is cancelled stops waiting at once; the fetch is cancelled
    too when nobody else waits for it, so no request outlives its streams.

    Raises:
        ValueError: an unknown interval, or a window too small for the tolerance.
    """

    def __init__(
        self,
        client: PriceHistoryClient,
        *,
        interval: str = DEFAULT_INTERVAL,
        tolerance_s: int = DEFAULT_TOLERANCE_S,
        window_points: int = MAX_HISTORY_ITEMS,
        cache_windows: int = DEFAULT_CACHE_WINDOWS,
        ttl_s: float = DEFAULT_CACHE_TTL_S,
        failure_ttl_s: float = DEFAULT_FAILURE_TTL_S,
        fetch_timeout_s: float = DEFAULT_FETCH_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval not in INTERVAL_SECONDS:
            raise ValueError(f"interval must be one of {', '.join(INTERVAL_SECONDS)}")
        if not 1 <= window_points <= MAX_HISTORY_ITEMS:
            raise ValueError(f"window_points must be within 1..{MAX_HISTORY_ITEMS}")
        self._bucket_s = window_points * INTERVAL_SECONDS[interval] - 2 * tolerance_s
        if tolerance_s < 0 or self._bucket_s <= 0 or cache_windows < 1:
            raise ValueError("need tolerance_s >= 0, a window longer than twice the tolerance, cache_windows >= 1")
        self._client = client
        self._interval = interval
        self._interval_s = INTERVAL_SECONDS[interval]
        self._tolerance_s = tolerance_s
        self._cache_windows = cache_windows
        self._ttl_s = ttl_s
        self._failure_ttl_s = failure_ttl_s
        self._fetch_timeout_s = fetch_timeout_s
        self._clock = clock
        self._windows: OrderedDict[tuple[str, int], _Window] = OrderedDict()
        self._paused_until = float("-inf")

    async def price_usd(self, mint: str, unix_ts: int) -> Decimal | None:
        """USD per UI token of ``mint`` at ``unix_ts`` (unix seconds): the nearest Birdeye point within the tolerance.

        ``None`` when Birdeye has no point that near, fails, or is too slow. Never raises for Birdeye's failures.
        """
        if not 0 <= unix_ts <= _MAX_UNIX_TIME:
            return None
        key = (mint, unix_ts // self._bucket_s)
        window = self._window(key, HIGH_PRIORITY)
        if window is None:
            return None
        window.priority.raise_to(HIGH_PRIORITY)
        window.waiters += 1
        try:
            series = await asyncio.shield(window.task)
        finally:
            window.waiters -= 1
            if window.waiters == 0 and not window.task.done():
                window.task.cancel()
                if self._windows.get(key) is window:
                    del self._windows[key]
        return None if series is None else _nearest(series, unix_ts, self._tolerance_s)

    def cached_price_usd(self, mint: str, unix_ts: int) -> Decimal | None | Uncached:
        """:meth:`price_usd` from a window already fetched, or ``None`` while paused
        after a failure; :data:`UNCACHED` when the window is missing or still coming."""
        if not 0 <= unix_ts <= _MAX_UNIX_TIME:
            return None
        now = self._clock()
        window = self._valid((mint, unix_ts // self._bucket_s), now)
        if window is None:
            return None if now < self._paused_until else UNCACHED
        task = window.task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return UNCACHED
        series = task.result()
        return None if series is None else _nearest(series, unix_ts, self._tolerance_s)

    async def aclose(self) -> None:
        """Cancel the window fetches in flight (prefetches included) and wait for them:
        called before the HTTP session they use closes."""
        fetches = [window.task for window in self._windows.values() if not window.task.done()]
        for fetch in fetches:
            fetch.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)

    def prefetch(self, mint: str, times: Iterable[int], *, priority: int = NORMAL_PRIORITY) -> None:
        """Start fetching the windows that ``price_usd(mint, t)`` will read for each of
        ``times``: the same windows the asks would fetch, so prices do not change.
        A window already coming is raised to ``priority``."""
        # In the order asked (the windows the stream needs first, first), once each.
        for bucket in dict.fromkeys(t // self._bucket_s for t in times if 0 <= t <= _MAX_UNIX_TIME):
            window = self._window((mint, bucket), priority)
            if window is not None:
                window.priority.raise_to(priority)

    def _window(self, key: tuple[str, int], priority: int) -> _Window | None:
        """The cached or in-flight window of ``key``, a new fetch at ``priority``, or
        ``None`` while paused after a failure."""
        now = self._clock()
        window = self._valid(key, now)
        if window is not None:
            return window
        if now < self._paused_until:
            return None
        wanted = Priority(priority)
        window = _Window(asyncio.create_task(self._fetch(*key, wanted)), wanted)
        window.task.add_done_callback(lambda task: self._fetched(window, task))
        self._windows[key] = window
        self._windows.move_to_end(key)
        while len(self._windows) > self._cache_windows:
            self._windows.popitem(last=False)
        return window

    def _valid(self, key: tuple[str, int], now: float) -> _Window | None:
        """The window of ``key`` if it has not expired (fetched or coming), made most recently used."""
        window = self._windows.get(key)
        if window is None or not now < window.expires:
            return None
        self._windows.move_to_end(key)
        return window

    def _fetched(self, window: _Window, task: asyncio.Task[_Series | None]) -> None:
        if task.cancelled():
            window.expires = float("-inf")  # the next ask fetches afresh
            return
        ttl = self._failure_ttl_s if task.exception() is not None or task.result() is None else self._ttl_s
        window.expires = self._clock() + ttl

    async def _fetch(self, mint: str, bucket: int, priority: Priority) -> _Series | None:
        time_from = max(0, bucket * self._bucket_s - self._tolerance_s)
        time_to = min(_MAX_UNIX_TIME, (bucket + 1) * self._bucket_s + self._tolerance_s - 1)
        points: list[PricePoint] = []
        try:
            async with asyncio.timeout(self._fetch_timeout_s):
                for _ in range(_MAX_PAGES):
                    page = await self._client.history_price(mint, time_from, time_to, self._interval, priority=priority)
                    points.extend(page)
                    # A full window ends in its last interval; an answer that
                    # stops before it was cut at Birdeye's documented 1,000
                    # items (its answers hold one point per interval, so this
                    # is a guard, not a path a whole window takes).
                    if len(page) < MAX_HISTORY_ITEMS or page[-1][0] + self._interval_s > time_to:
                        break
                    time_from = page[-1][0] + 1
        except (BirdeyeError, TimeoutError) as exc:
            self._paused_until = self._clock() + self._failure_ttl_s
            log.warning(
                "Birdeye prices of %s around %d unavailable (%s); new look-ups paused for %.0f s",
                mint,
                time_from,
                _describe(exc),
                self._failure_ttl_s,
            )
            return None
        points.sort(key=lambda point: point[0])
        return tuple(when for when, _ in points), tuple(value for _, value in points)


def _nearest(series: _Series, unix_ts: int, tolerance_s: int) -> Decimal | None:
    times, values = series
    at = bisect.bisect_left(times, unix_ts)
    best: int | None = None
    for candidate in (at - 1, at):
        if 0 <= candidate < len(times) and (best is None or abs(times[candidate] - unix_ts) < abs(times[best] - unix_ts)):
            best = candidate
    if best is None or abs(times[best] - unix_ts) > tolerance_s:
        return None
    return values[best]


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError) and not isinstance(error, BirdeyeError):
        return "timed out"
    return f"{type(error).__name__}: {error}"
