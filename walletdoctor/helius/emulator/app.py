"""The Helius emulator application: routes of both Helius hosts, the per-request pipeline, admin endpoints.

One aiohttp app answers for both hosts WalletDoctor's client talks to (its
RPC base URL and its API base URL may both point here):

- RPC host, ``POST /?api-key=K``: JSON-RPC 2.0 (``rpc.py``); endpoint
  class ``rpc_signatures`` (getSignaturesForAddress), ``rpc_assets``
  (getAssetBatch) or ``rpc_other``.
- API host, ``GET /v0/addresses/{address}/transactions?api-key=K``:
  ``enhanced_history`` (``enhanced.py``).
- API host, ``POST /v0/transactions?api-key=K``: ``enhanced_parse``.
- Admin, for tests and benchmarks in other processes (no key, no limit, no
  latency, no faults): ``GET /_emulator/stats[?log=N]`` (``EmulatorStats``
  JSON, newest N log entries), ``POST /_emulator/stats/reset`` (204),
  ``GET /_emulator/settings`` and ``PATCH /_emulator/settings`` (a JSON
  object of changed fields; answers the new settings, or 400
  ``{"error": ...}`` changing nothing).

Every Helius route runs the same pipeline, in this order: ``api-key``
query parameter present, else 401 (RPC host:
``{"jsonrpc":"2.0","error":{"code":-32401,"message":"invalid api key provided"},"id":null}``,
API host: ``{"error":"invalid api key provided"}``; Helius declares the 401
status, FACTS §1.2, but no body a client should rely on; any non-empty key
is accepted); then the rate limit (429, ``limits.py``); then the latency sleep
and faults (``faults.py``); then the answer. The stats count the request in
flight for all of it, in a ``finally``, so a client that disconnects (the
servers here run with ``handler_cancellation=True``) stops counting at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from walletdoctor.helius.emulator import enhanced, rpc
from walletdoctor.helius.emulator.faults import Fault, FaultInjector
from walletdoctor.helius.emulator.history import WalletBook, WalletHistory
from walletdoctor.helius.emulator.limits import RateLimiter, rate_limited_response
from walletdoctor.helius.emulator.settings import EmulatorSettings, Endpoint
from walletdoctor.helius.emulator.stats import CLIENT_CLOSED, EmulatorStats
from walletdoctor.solana import InvalidAddressError, validate_address

__all__ = ["EMULATOR_BOOK", "EMULATOR_SETTINGS", "EMULATOR_STATS", "create_emulator_app"]

_RPC_UNAUTHORIZED = b'{"jsonrpc":"2.0","error":{"code":-32401,"message":"invalid api key provided"},"id":null}'
_API_UNAUTHORIZED = b'{"error":"invalid api key provided"}'
_JSON = "application/json"

_Reply = tuple[int, Any]


class _Emulator:
    """The state one emulator app serves from, and its request handlers."""

    def __init__(self, settings: EmulatorSettings, book: WalletBook) -> None:
        self.settings = settings
        self.book = book
        self.stats = EmulatorStats(settings.request_log_size)
        self.limiter = RateLimiter(settings)
        self.faults = FaultInjector(settings)
        self._seed = settings.fault_seed

    def wallet(self, address: str) -> WalletHistory | None:
        """The history of ``address``; synthetic wallets from the settings are made on first use.

        Raises:
            InvalidAddressError: ``address`` is not a base58 32-byte key.
        """
        history = self.book.get(address)
        if history is not None:
            return history
        validate_address(address)
        settings = self.settings
        size = settings.synthetic_wallets.get(address, settings.synthetic_default_size)
        if size <= 0:
            return None
        # Imported here: the generator is only needed once a synthetic wallet is asked for.
        from walletdoctor.helius.emulator.synthetic import SyntheticWallet

        made: WalletHistory = SyntheticWallet(address, size)
        self.book.add(made)
        return made

    # -- Helius routes ---------------------------------------------------------------------------

    async def rpc(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return await self._serve(request, Endpoint.RPC_OTHER, None, lambda: (200, rpc.parse_error()), True)
        endpoint, wallet = rpc.classify(payload)
        return await self._serve(
            request, endpoint, wallet, lambda: (200, rpc.answer(payload, self.wallet, self.book)), True
        )

    async def history(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]

        def page() -> _Reply:
            try:
                history = self.wallet(address)
            except InvalidAddressError as exc:
                return 400, {"error": f"invalid address {address}: {exc}"}
            return enhanced.history_page(history, request.query, self.settings, self.faults)

        return await self._serve(request, Endpoint.ENHANCED_HISTORY, address, page, False)

    async def parse(self, request: web.Request) -> web.Response:
        raw = await request.read()
        return await self._serve(
            request,
            Endpoint.ENHANCED_PARSE,
            None,
            lambda: enhanced.parse_transactions(raw, self.book, self.faults),
            False,
        )

    async def _serve(
        self, request: web.Request, endpoint: Endpoint, wallet: str | None, reply: Callable[[], _Reply], rpc_host: bool
    ) -> web.Response:
        stats = self.stats
        arrived = stats.begin(endpoint)
        status = CLIENT_CLOSED  # stays so if the client leaves (CancelledError) before the answer
        try:
            response = await self._respond(request, endpoint, reply, rpc_host)
            status = response.status
            return response
        except Exception:  # a CancelledError (BaseException) keeps CLIENT_CLOSED
            status = 500
            raise
        finally:
            stats.end(endpoint, wallet, status, arrived)

    async def _respond(
        self, request: web.Request, endpoint: Endpoint, reply: Callable[[], _Reply], rpc_host: bool
    ) -> web.Response:
        settings = self.settings
        self._follow_settings()
        if not request.query.get("api-key"):
            body = _RPC_UNAUTHORIZED if rpc_host else _API_UNAUTHORIZED
            return web.Response(status=401, body=body, content_type=_JSON)
        wait = self.limiter.admit(endpoint)
        if wait is not None:
            return rate_limited_response(wait, settings.retry_after)
        faults = self.faults
        await faults.delay(endpoint)
        fault = faults.draw()
        if fault is Fault.SERVER_ERROR:
            return faults.server_error()
        if fault is Fault.TIMEOUT:
            return await faults.hang()
        status, payload = reply()
        body = orjson.dumps(payload)
        if fault is Fault.MALFORMED and status == 200:
            return faults.malform(body)
        return web.Response(status=status, body=body, content_type=_JSON)

    def _follow_settings(self) -> None:
        # Settings may be assigned directly in-process; pick up the two that
        # need work beyond being read (two int comparisons per request).
        settings = self.settings
        if settings.fault_seed != self._seed:
            self._seed = settings.fault_seed
            self.faults.reseed(self._seed)
        if self.stats.log.maxlen != settings.request_log_size:
            self.stats.resize_log(settings.request_log_size)

    # -- admin -----------------------------------------------------------------------------------

    async def get_stats(self, request: web.Request) -> web.Response:
        raw = request.query.get("log")
        try:
            log_limit = None if raw is None else max(0, int(raw))
        except ValueError:
            return _json(400, {"error": "log must be an integer"})
        return _json(200, self.stats.to_json(log_limit))

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.stats.reset()
        return web.Response(status=204)

    async def get_settings(self, request: web.Request) -> web.Response:
        return _json(200, self.settings.to_json())

    async def patch_settings(self, request: web.Request) -> web.Response:
        try:
            changes = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json(400, {"error": "body must be a JSON object"})
        if not isinstance(changes, dict):
            return _json(400, {"error": "body must be a JSON object"})
        try:
            self.settings.update(changes)
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        if "fault_seed" in changes:  # the same seed again replays the same faults
            self._seed = self.settings.fault_seed
            self.faults.reseed(self._seed)
        self._follow_settings()
        return _json(200, self.settings.to_json())


def _json(status: int, payload: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type=_JSON)


EMULATOR_SETTINGS = web.AppKey("emulator_settings", EmulatorSettings)
EMULATOR_STATS = web.AppKey("emulator_stats", EmulatorStats)
EMULATOR_BOOK = web.AppKey("emulator_book", WalletBook)
_EMULATOR = web.AppKey("emulator", _Emulator)


def create_emulator_app(settings: EmulatorSettings | None = None, book: WalletBook | None = None) -> web.Application:
    """The emulator as an aiohttp application (routes in the module docstring).

    Args:
        settings: live tunables (default ``EmulatorSettings()``: Helius-like
            latency and Business-plan limits, no faults). Kept by reference:
            changing it changes the running app.
        book: the wallets served; by default the recorded real wallet
            (``recorded.load_recorded_wallet()``, loaded here). Synthetic
            wallets named in ``settings`` join the book on first use.

    In-process users reach the state with ``app[EMULATOR_SETTINGS]``,
    ``app[EMULATOR_STATS]`` and ``app[EMULATOR_BOOK]``.
    """
    settings = settings if settings is not None else EmulatorSettings()
    if book is None:
        # Imported here: loading the recording costs time that callers with their own book skip.
        from walletdoctor.helius.emulator.recorded import load_recorded_wallet

        book = WalletBook([load_recorded_wallet()])
    emulator = _Emulator(settings, book)
    app = web.Application()
    app[EMULATOR_SETTINGS] = settings
    app[EMULATOR_STATS] = emulator.stats
    app[EMULATOR_BOOK] = book
    app[_EMULATOR] = emulator
    app.router.add_post("/", emulator.rpc)
    app.router.add_get("/v0/addresses/{address}/transactions", emulator.history)
    app.router.add_post("/v0/transactions", emulator.parse)
    app.router.add_get("/_emulator/stats", emulator.get_stats)
    app.router.add_post("/_emulator/stats/reset", emulator.reset_stats)
    app.router.add_get("/_emulator/settings", emulator.get_settings)
    app.router.add_patch("/_emulator/settings", emulator.patch_settings)
    # Birdeye's historical prices beside Helius, so one emulator URL serves
    # both upstreams (BIRDEYE_API_URL=<url>/birdeye); imported here like the
    # recording above, its prices load only with an emulator.
    from walletdoctor.birdeye.emulator import BIRDEYE_PREFIX, create_birdeye_app
    from walletdoctor.birdeye.prices_book import load_recorded_prices

    app.add_subapp(BIRDEYE_PREFIX, create_birdeye_app(load_recorded_prices()))
    return app
