"""The Birdeye emulator: ``GET /defi/history_price`` over a :class:`~walletdoctor.birdeye.prices_book.PriceBook`.

Same path, parameters, headers and JSON shape as Birdeye (sources in
:mod:`walletdoctor.birdeye.client`), so the real client is the one
exercised. The Helius emulator mounts it under :data:`BIRDEYE_PREFIX`
(``/birdeye``): ``BIRDEYE_API_URL=<emulator url>/birdeye`` then joins the
same relative path as ``https://public-api.birdeye.so``.

Each request goes through, in order:

1. ``X-API-KEY`` present (any non-empty key), else 401
   ``{"success": false, "message": "Unauthorized"}``;
2. the rate limit, when ``rps`` > 0: more than ``rps`` requests in any 1 s
   span get 429 with ``Retry-After`` (whole seconds), like an account over
   its plan's limit;
3. the latency sleep (``latency_s``);
4. the next scripted fault, if any (:class:`BirdeyeFault`);
5. parameter checks, else 400 ``{"success": false, "message": ...}``:
   ``address`` non-empty, ``address_type`` ``token`` or ``pair``, ``type``
   one of Birdeye's intervals, ``0 <= time_from <= time_to <= 10**10``,
   ``x-chain`` absent or ``solana``;
6. the answer: ``{"success": true, "data": {"isScaledUiToken": false,
   "items": [{"address", "unixTime", "value"}, ...]}}``, the book's points
   (:meth:`PriceBook.history`): at most one per interval, at most 1,000.

The live state (tunables, scripted faults, counters) is a
:class:`BirdeyeEmulatorState` under :data:`BIRDEYE_EMULATOR` on the Birdeye
app; :func:`birdeye_emulator_of` finds it from the app it is mounted in.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from walletdoctor.birdeye.client import HISTORY_PRICE_PATH, INTERVAL_SECONDS, MAX_HISTORY_ITEMS
from walletdoctor.birdeye.prices_book import PriceBook

__all__ = [
    "BIRDEYE_EMULATOR",
    "BIRDEYE_PREFIX",
    "DEFAULT_LATENCY_S",
    "BirdeyeEmulatorState",
    "BirdeyeFault",
    "birdeye_emulator_of",
    "create_birdeye_app",
]

#: Where the Helius emulator mounts this app.
BIRDEYE_PREFIX = "/birdeye"
#: Birdeye publishes no latency; a price look-up is taken as a light query.
DEFAULT_LATENCY_S = 0.2

_MAX_UNIX_TIME = 10_000_000_000
_ADDRESS_TYPES = ("token", "pair")
_UNAUTHORIZED = b'{"success":false,"message":"Unauthorized"}'
_TOO_MANY = b'{"success":false,"message":"Too many requests"}'
_MALFORMED = b'{"success":true,"data":{"items":[{"unixTi'
_JSON = "application/json"


class BirdeyeFault(enum.Enum):
    """A scripted answer that replaces the next request's normal one."""

    RATE_LIMITED = "rate_limited"  # 429 with Retry-After: retry_after_s
    SERVER_ERROR = "server_error"  # 500 {"success": false, "message": "Internal Server Error"}
    MALFORMED = "malformed"  # 200 with a truncated JSON body
    HANG = "hang"  # no answer for hang_s, then 504


@dataclass
class BirdeyeEmulatorState:
    """The emulator's live tunables and counters; changes apply from the next request.

    Attributes:
        book: the prices served.
        latency_s: sleep before each answer that passes auth and the rate limit.
        rps: requests per any 1 s span before 429s; 0 = unlimited.
        retry_after_s: ``Retry-After`` of scripted ``RATE_LIMITED`` answers (whole seconds).
        hang_s: how long a ``HANG`` fault holds the request.
        faults: scripted faults, consumed one per request in order.
        requests: requests received; ``statuses``: answers by HTTP status;
        in_flight: requests being handled; ``mints``: requests per ``address``.
    """

    book: PriceBook
    latency_s: float = DEFAULT_LATENCY_S
    rps: int = 0
    retry_after_s: int = 1
    hang_s: float = 30.0
    faults: deque[BirdeyeFault] = field(default_factory=deque)
    requests: int = 0
    in_flight: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    mints: Counter[str] = field(default_factory=Counter)
    _admitted: deque[float] = field(default_factory=deque, repr=False)

    def inject(self, *faults: BirdeyeFault) -> None:
        """Script the answers of the next requests, in order."""
        self.faults.extend(faults)

    def reset_counters(self) -> None:
        """Zero the counters (not the tunables, not the scripted faults)."""
        self.requests = 0
        self.statuses.clear()
        self.mints.clear()

    def admit(self, now: float) -> float | None:
        """Count a request against ``rps``; the seconds to wait when over it, else ``None``."""
        if self.rps <= 0:
            return None
        window = self._admitted
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rps:
            return window[0] + 1.0 - now
        window.append(now)
        return None


BIRDEYE_EMULATOR = web.AppKey("birdeye_emulator", BirdeyeEmulatorState)


def create_birdeye_app(book: PriceBook, latency_s: float = DEFAULT_LATENCY_S) -> web.Application:
    """The emulator as an aiohttp app serving ``GET /defi/history_price`` (pipeline in the module docstring).

    Mount it with ``parent.add_subapp(BIRDEYE_PREFIX, app)`` or serve it alone.
    Its state is ``app[BIRDEYE_EMULATOR]``. Raises ValueError for a negative latency.
    """
    if latency_s < 0:
        raise ValueError("latency_s must be >= 0")
    app = web.Application()
    app[BIRDEYE_EMULATOR] = BirdeyeEmulatorState(book=book, latency_s=latency_s)
    app.router.add_get(HISTORY_PRICE_PATH, _history_price)
    return app


def birdeye_emulator_of(app: web.Application) -> BirdeyeEmulatorState:
    """The state of the Birdeye emulator that is ``app`` or is mounted in it (e.g. the Helius emulator).

    Raises:
        LookupError: no Birdeye emulator there.
    """
    if BIRDEYE_EMULATOR in app:
        return app[BIRDEYE_EMULATOR]
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            sub = resource.get_info()["app"]
            if BIRDEYE_EMULATOR in sub:
                return sub[BIRDEYE_EMULATOR]
    raise LookupError("no Birdeye emulator in this application")


async def _history_price(request: web.Request) -> web.Response:
    state = request.app[BIRDEYE_EMULATOR]
    state.requests += 1
    state.in_flight += 1
    status = 499  # stays so if the client leaves before the answer (nginx's "client closed request")
    try:
        response = await _respond(request, state)
        status = response.status
        return response
    finally:
        state.in_flight -= 1
        state.statuses[status] += 1


async def _respond(request: web.Request, state: BirdeyeEmulatorState) -> web.Response:
    if not request.headers.get("X-API-KEY"):
        return web.Response(status=401, body=_UNAUTHORIZED, content_type=_JSON)
    wait = state.admit(time.monotonic())
    if wait is not None:
        return _too_many(max(1, math.ceil(wait)))
    if state.latency_s > 0:
        await asyncio.sleep(state.latency_s)
    fault = state.faults.popleft() if state.faults else None
    if fault is BirdeyeFault.RATE_LIMITED:
        return _too_many(state.retry_after_s)
    if fault is BirdeyeFault.SERVER_ERROR:
        return _json(500, {"success": False, "message": "Internal Server Error"})
    if fault is BirdeyeFault.MALFORMED:
        return web.Response(status=200, body=_MALFORMED, content_type=_JSON)
    if fault is BirdeyeFault.HANG:
        await asyncio.sleep(state.hang_s)
        return _json(504, {"success": False, "message": "Gateway Timeout"})
    query = request.query
    problem = _check(request.headers.get("x-chain"), query)
    if problem is not None:
        return _json(400, {"success": False, "message": problem})
    mint = query["address"]
    state.mints[mint] += 1
    points = state.book.history(
        mint, int(query["time_from"]), int(query["time_to"]), INTERVAL_SECONDS[query["type"]], MAX_HISTORY_ITEMS
    )
    items = [{"address": mint, "unixTime": when, "value": float(value)} for when, value in points]
    return _json(200, {"success": True, "data": {"isScaledUiToken": False, "items": items}})


def _check(chain: str | None, query: Mapping[str, str]) -> str | None:
    """What is wrong with the request's parameters, or ``None``."""
    get = query.get
    if chain is not None and chain != "solana":
        return f"chain {chain} is not supported"
    if not get("address"):
        return "address is required"
    if get("address_type", "token") not in _ADDRESS_TYPES:
        return "address_type must be token or pair"
    if get("type") not in INTERVAL_SECONDS:
        return f"type must be one of {', '.join(INTERVAL_SECONDS)}"
    times = []
    for name in ("time_from", "time_to"):
        text = get(name, "")
        if not text.isdigit() or int(text) > _MAX_UNIX_TIME:
            return f"{name} must be a unix time in seconds (0 to 10000000000)"
        times.append(int(text))
    if times[0] > times[1]:
        return "time_from must not be after time_to"
    return None


def _too_many(retry_after_s: int) -> web.Response:
    return web.Response(
        status=429, body=_TOO_MANY, content_type=_JSON, headers={"Retry-After": str(retry_after_s)}
    )


def _json(status: int, payload: object) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type=_JSON)
