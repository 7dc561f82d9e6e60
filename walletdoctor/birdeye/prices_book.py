"""The prices the Birdeye emulator serves: recorded USD prices per mint, and a synthetic SOL price.

Recorded prices are the real wallet's: one point per mint at the exact
timestamp of each swap of the wallet's activity export that priced it (see
:mod:`walletdoctor.birdeye.fixture`, which writes
``data/3JoVBiQE_prices.json.gz``). Like Birdeye, an answer holds at most one
point per interval: the first recorded point of the interval, at its own
time, so a client that asks for the point nearest a trade's time gets the
export's own price for that trade when it is the first of its interval, and
a price recorded less than one interval away otherwise (valued at 5-minute
points, the real wallet's total volume comes out 0.025 % above the export's).

Between a mint's first and last recorded point, a time without a point of
its own is priced at the last recorded price (a chart's "last trade"). SOL
is priced at any time: outside its recorded range by a deterministic
synthetic curve (:func:`synthetic_sol_price`) joined to the nearest recorded
price, so that synthetic wallets, whose histories reach back before the real
wallet's, are priced too. Other mints have no price outside their range.

The book is immutable; the recorded one is loaded once per process.
"""

from __future__ import annotations

import bisect
import gzip
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from importlib import resources

import orjson

from walletdoctor.solana import NATIVE_SOL_MINT

__all__ = [
    "FIXTURE",
    "SYNTHETIC_SOL_BASE_USD",
    "PriceBook",
    "load_recorded_prices",
    "parse_prices",
    "synthetic_sol_price",
]

#: The recorded prices' resource name inside ``walletdoctor.birdeye``.
FIXTURE = "data/3JoVBiQE_prices.json.gz"
#: Centre of the synthetic SOL curve when no SOL price is recorded (USD).
SYNTHETIC_SOL_BASE_USD = Decimal(150)

_DAY_S = 86_400
_SLOW_PERIOD_S = 23 * _DAY_S
_SLOW_SWING = 0.10
_DAILY_SWING = 0.02
_PRICE_DIGITS = Decimal("0.000001")


def _curve(unix_ts: int) -> float:
    """A positive, smooth multiplier near 1: a slow +-10 % wave and a daily +-2 % wave."""
    return (
        1.0
        + _SLOW_SWING * math.sin(2 * math.pi * unix_ts / _SLOW_PERIOD_S)
        + _DAILY_SWING * math.sin(2 * math.pi * unix_ts / _DAY_S)
    )


def synthetic_sol_price(unix_ts: int, anchor: tuple[int, Decimal] | None = None) -> Decimal:
    """SOL's synthetic USD price at ``unix_ts``, to 6 decimals.

    Without ``anchor``: :data:`SYNTHETIC_SOL_BASE_USD` times the curve. With
    ``anchor = (t0, p0)``: ``p0`` scaled by the curve's ratio between
    ``unix_ts`` and ``t0``, so the curve meets the recorded price ``p0`` at ``t0``.
    """
    if anchor is None:
        scale = float(SYNTHETIC_SOL_BASE_USD) * _curve(unix_ts)
    else:
        scale = float(anchor[1]) * _curve(unix_ts) / _curve(anchor[0])
    return Decimal(scale).quantize(_PRICE_DIGITS)


class _Series:
    """One mint's recorded points, in time order, one per timestamp."""

    __slots__ = ("times", "values")

    def __init__(self, points: Iterable[tuple[int, Decimal]]) -> None:
        by_time: dict[int, Decimal] = {}
        for when, value in points:
            by_time.setdefault(int(when), value)
        ordered = sorted(by_time.items())
        self.times = tuple(when for when, _ in ordered)
        self.values = tuple(value for _, value in ordered)


class PriceBook:
    """USD prices per mint at any time, as the Birdeye emulator serves them.

    Args:
        series: mint -> ``(unix seconds, USD per UI token)`` points; for a
            timestamp given twice the first value wins.
        synthetic_sol: price SOL (the wrapped-SOL mint) outside its recorded
            range, or everywhere when it has no points, with :func:`synthetic_sol_price`.
    """

    def __init__(self, series: Mapping[str, Iterable[tuple[int, Decimal]]], *, synthetic_sol: bool = True) -> None:
        self._series = {mint: made for mint, points in series.items() if (made := _Series(points)).times}
        self._synthetic_sol = synthetic_sol

    @classmethod
    def recorded(cls) -> PriceBook:
        """The real wallet's recorded prices with synthetic SOL (:func:`load_recorded_prices`)."""
        return load_recorded_prices()

    def mints(self) -> frozenset[str]:
        """Mints with recorded points."""
        return frozenset(self._series)

    def recorded_points(self, mint: str) -> list[tuple[int, Decimal]]:
        """The recorded points of ``mint`` in time order (empty when it has none)."""
        series = self._series.get(mint)
        return [] if series is None else list(zip(series.times, series.values, strict=True))

    def price_at(self, mint: str, unix_ts: int) -> Decimal | None:
        """The price the book gives ``mint`` at ``unix_ts``: recorded, last recorded, synthetic, or ``None``."""
        series = self._series.get(mint)
        if series is not None and series.times[0] <= unix_ts <= series.times[-1]:
            return series.values[bisect.bisect_right(series.times, unix_ts) - 1]
        return self._outside(mint, series, unix_ts)

    def history(
        self, mint: str, time_from: int, time_to: int, interval_s: int, limit: int
    ) -> list[tuple[int, Decimal]]:
        """The points of a ``/defi/history_price`` answer, in time order, at most ``limit``.

        At most one point per interval ``[k * interval_s, (k + 1) * interval_s)``
        within ``[time_from, time_to]``, as Birdeye answers: the interval's
        first recorded point at its own time, else a point at the aligned
        time ``k * interval_s`` where the book has a price there
        (:meth:`price_at`). Cut after ``limit`` points, as Birdeye cuts at
        1,000; so a range of at most ``limit`` intervals is never cut.
        """
        series = self._series.get(mint)
        times, values = (series.times, series.values) if series is not None else ((), ())
        span = self._fill_span(mint, series, time_from, time_to)
        out: list[tuple[int, Decimal]] = []
        at = bisect.bisect_left(times, time_from)
        # The next aligned time that may be filled, and the last one.
        slot = _ceil_to(time_from, interval_s)
        if span is not None and slot < span[0]:
            slot = _ceil_to(span[0], interval_s)
        last_slot = min(time_to, span[1]) if span is not None else -1
        while len(out) < limit:
            recorded = times[at] if at < len(times) and times[at] <= time_to else None
            if recorded is not None and (slot > last_slot or recorded < slot + interval_s):
                # The recorded point's interval comes first: it stands for the
                # whole interval; the interval's later points are skipped.
                out.append((recorded, values[at]))
                interval_end = (recorded // interval_s + 1) * interval_s
                at = bisect.bisect_left(times, interval_end, at)
                slot = max(slot, interval_end)
                continue
            if slot > last_slot:
                break
            price = self.price_at(mint, slot)
            if price is not None:
                out.append((slot, price))
            slot += interval_s
        return out

    def _fill_span(self, mint: str, series: _Series | None, time_from: int, time_to: int) -> tuple[int, int] | None:
        """The times within the asked range at which ``mint`` has a price without a recorded point."""
        if mint == NATIVE_SOL_MINT and self._synthetic_sol:
            return (time_from, time_to)
        if series is None:
            return None
        return (series.times[0], series.times[-1])

    def _outside(self, mint: str, series: _Series | None, unix_ts: int) -> Decimal | None:
        if mint != NATIVE_SOL_MINT or not self._synthetic_sol:
            return None
        if series is None:
            return synthetic_sol_price(unix_ts)
        edge = 0 if unix_ts < series.times[0] else -1
        return synthetic_sol_price(unix_ts, (series.times[edge], series.values[edge]))


def _ceil_to(unix_ts: int, interval_s: int) -> int:
    return -(-unix_ts // interval_s) * interval_s


def parse_prices(data: bytes, *, synthetic_sol: bool = True) -> PriceBook:
    """A book from the fixture's bytes: gzip'd JSON ``{"mints": {mint: [[unix_s, "usd"], ...]}, ...}``.

    Raises:
        ValueError: not gzip'd JSON of that shape.
    """
    try:
        document = orjson.loads(gzip.decompress(data))
        mints = document["mints"]
        series = {mint: [(int(when), Decimal(value)) for when, value in points] for mint, points in mints.items()}
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"not a price fixture: {exc}") from exc
    return PriceBook(series, synthetic_sol=synthetic_sol)


@cache
def load_recorded_prices() -> PriceBook:
    """The recorded prices shipped in the package (built by ``python -m walletdoctor.birdeye.fixture``).

    Loaded once per process; the book is immutable, so sharing it is safe.
    Raises FileNotFoundError when the fixture was not built.
    """
    data = resources.files("walletdoctor.birdeye").joinpath(FIXTURE).read_bytes()
    return parse_prices(data)
