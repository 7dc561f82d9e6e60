"""The Birdeye client: historical USD prices of Solana tokens, one instance per process.

It owns the per-process request-rate limit, the retry policy, and the
translation of transport and JSON errors into :mod:`walletdoctor.birdeye.errors`,
in the shape of :mod:`walletdoctor.helius.client`. It speaks to real Birdeye
(``https://public-api.birdeye.so``) and to the project's emulator
(``<emulator>/birdeye``) alike; only the base URL differs.

The one endpoint used, as Birdeye documents it (docs.birdeye.so, "Price -
Historical", ``/defi/history_price``; reference page
``get_defi-history-price``):

- ``GET {base}/defi/history_price?address=<mint>&address_type=token&type=<interval>
  &time_from=<unix s>&time_to=<unix s>``, headers ``X-API-KEY: <key>`` and
  ``x-chain: solana`` (the chain defaults to solana; sent anyway).
- ``type`` is one of ``1m 3m 5m 15m 30m 1H 2H 4H 6H 8H 12H 1D 3D 1W 1M``;
  times are unix seconds in 0..10,000,000,000.
- The answer is ``{"success": true, "data": {"items": [{"address": mint,
  "unixTime": int, "value": float}, ...]}}``, "up to a maximum of 1000
  records", one per interval at aligned times (the docs' example asks from
  1691997839 with 15m and gets 1691998200, 1691999100, ...). Newer answers
  add ``isScaledUiToken`` and drop ``address`` from the items, so neither is
  required here.
- Statuses: 400, 401 (key missing or invalid), 403, 429 (rate limit), 500.
  Limits are per account, across all endpoints (docs.birdeye.so "Rate
  Limiting": Standard 1 rps, Starter 15 rps, Premium 50 rps / 1000 rpm,
  Business 100 rps / 1500 rpm).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

import aiohttp
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from walletdoctor.birdeye.errors import (
    InvalidResponse,
    RateLimited,
    Rejected,
    Unavailable,
)
from walletdoctor.config import Settings
from walletdoctor.rate import NORMAL_PRIORITY, Priority, RequestRate

__all__ = ["ASK_RESERVE_SHARE", "HISTORY_PRICE_PATH", "INTERVAL_SECONDS", "MAX_HISTORY_ITEMS", "BirdeyeClient", "PricePoint"]

log = logging.getLogger(__name__)

HISTORY_PRICE_PATH = "/defi/history_price"
#: Birdeye's cap on the items of one ``history_price`` answer.
MAX_HISTORY_ITEMS = 1000
#: The ``type`` values Birdeye accepts, and the seconds each stands for
#: (``1M`` taken as 30 days: Birdeye does not say how it cuts months).
INTERVAL_SECONDS: Mapping[str, int] = MappingProxyType({
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1H": 3600,
    "2H": 7200,
    "4H": 14400,
    "6H": 21600,
    "8H": 28800,
    "12H": 43200,
    "1D": 86400,
    "3D": 259200,
    "1W": 604800,
    "1M": 2592000,
})

#: ``(unix seconds, USD per UI token)``.
PricePoint = tuple[int, Decimal]
RetryHook = Callable[[BaseException], None]

_MAX_UNIX_TIME = 10_000_000_000
#: One place in this many of each second's requests is kept for high-priority
#: ones: prices a stream waits for now, not a prefetch's guess at what it
#: will ask next (measured on the real wallet: the first page of signatures
#: lists 40 days, 11 windows of SOL prices, and took the whole second that
#: the first trades' token prices then waited for).
ASK_RESERVE_SHARE = 3
_TRANSIENT = (RateLimited, Unavailable, InvalidResponse)
_MESSAGE_CHARS = 200


class BirdeyeClient:
    """Rate-limited, retrying access to Birdeye's historical price endpoint.

    Args:
        session: an ``aiohttp.ClientSession`` (the Helius one may be shared:
            ``walletdoctor.helius.create_client_session``).
        base_url: ``https://public-api.birdeye.so`` or ``<emulator>/birdeye``; no trailing slash needed.
        api_key: sent as ``X-API-KEY``; never logged nor put in an error.
        rps: requests per second for this process: at most ``rps`` in any
            1 s span, counted as Birdeye counts them, so a burst up to ``rps`` goes at once.
        timeout_s: total time allowed for one attempt, seconds.
        attempts: attempts per call, first included.
        backoff_initial_s / backoff_max_s: exponential backoff with jitter
            between attempts, unless a 429 carries Retry-After (honoured).
        on_retry: called with the error before each retry sleep.

    :meth:`history_price` raises a :class:`~walletdoctor.birdeye.errors.BirdeyeError`
    subclass after the last attempt; ``asyncio.CancelledError`` passes through at once.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        rps: float,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 4.0,
        on_retry: RetryHook | None = None,
    ) -> None:
        if rps <= 0 or attempts < 1:
            raise ValueError("rps must be > 0 and attempts >= 1")
        self._session = session
        self._url = base_url.rstrip("/") + HISTORY_PRICE_PATH
        self._headers = {"X-API-KEY": api_key, "x-chain": "solana", "accept": "application/json"}
        # Counted from each request's end (RequestRate.slot): 429s are costly here.
        self._limit = RequestRate(rps, margin_s=0.0, reserve=int(rps) // ASK_RESERVE_SHARE)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff = wait_exponential_jitter(multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s)
        self._on_retry = on_retry

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, settings: Settings, *, base_url: str, api_key: str
    ) -> BirdeyeClient:
        """Build a client with the rate, timeout and attempts of ``settings`` (``BIRDEYE_*``)."""
        return cls(
            session,
            base_url=base_url,
            api_key=api_key,
            rps=settings.birdeye_rps,
            timeout_s=settings.birdeye_timeout_s,
            attempts=settings.birdeye_attempts,
        )

    async def history_price(
        self, mint: str, time_from: int, time_to: int, interval: str = "1m", *, priority: int | Priority = NORMAL_PRIORITY
    ) -> list[PricePoint]:
        """USD prices of ``mint`` from ``time_from`` to ``time_to`` (unix seconds, inclusive).

        Returns ``(unixTime, value)`` pairs in time order, values as Decimals
        (USD per UI token, exactly the float Birdeye sent); at most
        :data:`MAX_HISTORY_ITEMS`: a longer range comes back cut, so the
        caller asks again from after the last point. Items whose ``value``
        is null are left out; a mint Birdeye has no data for gives ``[]``.
        ``priority``: :data:`~walletdoctor.rate.HIGH_PRIORITY` for a price a
        stream waits for (it goes first, and may take the places of each
        second kept for it); normal for a prefetch, given as a
        :class:`~walletdoctor.rate.Priority` when a stream may come to wait
        for it (raised, it moves up while it waits for its place).

        Raises:
            ValueError: an ``interval`` Birdeye does not know, or a bad time range.
            RateLimited, Unavailable, InvalidResponse: after the last attempt.
            Rejected: at once (4xx other than 429).
        """
        if interval not in INTERVAL_SECONDS:
            raise ValueError(f"interval must be one of {', '.join(INTERVAL_SECONDS)}")
        if not 0 <= time_from <= time_to <= _MAX_UNIX_TIME:
            raise ValueError("need 0 <= time_from <= time_to <= 10**10 (unix seconds)")
        params = {
            "address": mint,
            "address_type": "token",
            "type": interval,
            "time_from": str(time_from),
            "time_to": str(time_to),
        }
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_TRANSIENT),
            before_sleep=self._before_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return _price_points(await self._attempt(params, priority))
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(self, params: dict[str, str], priority: int | Priority) -> Any:
        async with self._limit.slot(priority):
            try:
                async with self._session.get(
                    self._url, params=params, headers=self._headers, timeout=self._timeout
                ) as response:
                    status = response.status
                    raw = await response.read()
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError as exc:
                raise Unavailable("Birdeye request timed out") from exc
            except aiohttp.ClientError as exc:
                raise Unavailable(f"Birdeye connection failed ({type(exc).__name__})") from exc
        return _interpret(status, raw, retry_after)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    def _before_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is None:
            return
        log.debug("retrying Birdeye history_price after %s (attempt %d)", type(error).__name__, state.attempt_number)
        if self._on_retry is not None:
            self._on_retry(error)


def _interpret(status: int, raw: bytes, retry_after: str | None) -> Any:
    body = _loads_or_none(raw)
    if status == 429:
        raise RateLimited("Birdeye rate limit (HTTP 429)", retry_after=_retry_after_seconds(retry_after))
    if status >= 500:
        raise Unavailable(f"Birdeye HTTP {status}", status=status)
    if status >= 400:
        raise Rejected(f"Birdeye HTTP {status}{_message(body)}", status=status)
    if body is None:
        raise InvalidResponse(f"Birdeye HTTP {status} with a body that is not JSON", status=status)
    return body


def _price_points(body: Any) -> list[PricePoint]:
    if not isinstance(body, dict) or body.get("success") is not True:
        raise InvalidResponse(f"Birdeye answer is not a success{_message(body)}")
    data = body.get("data")
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidResponse("Birdeye answer has no data.items list")
    points: list[PricePoint] = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidResponse("Birdeye history item is not an object")
        when, value = item.get("unixTime"), item.get("value")
        if not _is_number(when) or int(cast(float, when)) != when:
            raise InvalidResponse("Birdeye history item has no integer unixTime")
        if value is None:
            continue
        if not _is_number(value):
            raise InvalidResponse("Birdeye history item value is not a number")
        # str() of a float is its shortest repr: the decimal Birdeye wrote.
        points.append((int(when), Decimal(str(value))))
    points.sort(key=lambda point: point[0])
    return points


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _message(body: Any) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    return f": {message[:_MESSAGE_CHARS]}" if isinstance(message, str) and message else ""


def _loads_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
