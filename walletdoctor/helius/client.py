"""The Helius client: one instance per process, shared by every stream.

It owns the per-process request-rate limits (one for the Enhanced API and
DAS, one for standard RPC), the retry policy, the optional circuit breaker
(:mod:`walletdoctor.helius.breaker`), and the translation of transport and
JSON errors into :mod:`walletdoctor.helius.errors`. It
speaks to real Helius and to the project's emulator alike; only the base
URLs differ.

Endpoints (helius-labs/docs OpenAPI, FACTS 1.2-1.8):

- ``POST {rpc}/`` JSON-RPC ``getSignaturesForAddress`` (<= 1,000 a page, ``before`` cursor)
- ``POST {rpc}/`` DAS ``getAssetBatch`` (<= 1,000 ids)
- ``POST {api}/v0/transactions`` (<= 100 signatures, enhanced transactions)
- ``GET {api}/v0/addresses/{address}/transactions`` (<= 100 a page, newest first)
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from walletdoctor.config import HistoryVocabulary, Settings
from walletdoctor.helius.breaker import UpstreamBreaker
from walletdoctor.helius.errors import (
    InvalidResponse,
    RateLimited,
    UpstreamUnavailable,
)
from walletdoctor.helius.responses import (
    decode_transactions,
    interpret_response,
    jsonrpc_result,
    search_hint,
    transaction_list,
)
from walletdoctor.rate import HIGH_PRIORITY, NORMAL_PRIORITY, RequestRate

__all__ = [
    "MAX_ASSET_BATCH",
    "MAX_HISTORY_PAGE",
    "MAX_PARSE_BATCH",
    "MAX_SIGNATURE_PAGE",
    "HeliusClient",
    "HistoryPage",
    "create_client_session",
]

log = logging.getLogger(__name__)

MAX_SIGNATURE_PAGE = 1000
MAX_PARSE_BATCH = 100
MAX_HISTORY_PAGE = 100
MAX_ASSET_BATCH = 1000

_TRANSIENT = (RateLimited, UpstreamUnavailable, InvalidResponse)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One answer of the history endpoint.

    Attributes:
        transactions: enhanced transactions in the order asked for (empty at the end).
        resume_from: set when Helius found nothing in its search window and
            asks to continue from this signature ("Failed to find events").
    """

    transactions: list[dict[str, Any]]
    resume_from: str | None = None


RetryHook = Callable[[str, BaseException], None]
ResponseHook = Callable[[str, int | str], None]


def create_client_session(connections: int) -> aiohttp.ClientSession:
    """The process-wide upstream session: pooled connections, aiodns resolver.

    Must be called inside the running event loop (aiohttp FAQ: a session
    created before the loop is switched hangs).
    """
    connector = aiohttp.TCPConnector(
        limit=connections,
        resolver=aiohttp.AsyncResolver(),
        ttl_dns_cache=300,
        enable_cleanup_closed=True,
    )
    return aiohttp.ClientSession(connector=connector, json_serialize=lambda o: orjson.dumps(o).decode())


#: One place in this many of the Enhanced API's window is kept for DAS (one at
#: least, where the window has two or more).
ENHANCED_RESERVE_SHARE = 25


class HeliusClient:
    """Rate-limited, retrying access to the four Helius endpoints WalletDoctor uses.

    Args:
        session: the shared ``aiohttp.ClientSession`` (see :func:`create_client_session`).
        api_url: Enhanced API base URL, no trailing slash.
        rpc_url: JSON-RPC / DAS base URL, no trailing slash.
        api_key: sent as the ``api-key`` query parameter; never logged.
        rps: Enhanced API + DAS requests per second for this process (DAS first
            when both wait).
        rpc_rps: standard RPC requests per second for this process.
        timeout_s: total time allowed for one attempt, seconds.
        attempts: attempts per call, first included.
        backoff_initial_s / backoff_max_s: exponential backoff with jitter
            between attempts, unless a 429 carries Retry-After (honoured).
        on_retry: called with (endpoint, error) before each retry sleep.
        breaker: the process's circuit breaker, or ``None`` for none. Each
            call asks it first and reports its final outcome to it; the
            half-open probe is sent as a single attempt.

    Every public method raises a :class:`~walletdoctor.helius.errors.HeliusError`
    subclass after the last attempt, or ``CircuitOpen`` (an
    ``UpstreamUnavailable``) at once, without a request, while the breaker
    is open; ``asyncio.CancelledError`` passes through at once (a cancelled
    stream stops its upstream calls).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        rpc_url: str,
        api_key: str,
        rps: float,
        rpc_rps: float,
        timeout_s: float = 20.0,
        attempts: int = 6,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        on_retry: RetryHook | None = None,
        on_response: ResponseHook | None = None,
        breaker: UpstreamBreaker | None = None,
    ) -> None:
        self._session = session
        self._api_url = api_url.rstrip("/")
        self._rpc_url = rpc_url.rstrip("/")
        self._key_params = {"api-key": api_key}
        # Sliding windows as Helius counts them (walletdoctor.rate): bursts
        # up to the limit, never past it. DAS shares the Enhanced API's
        # window and goes first, with a few places of it kept for it: the
        # second batch waits for symbols. Few: the parse requests need the
        # rest (the real wallet's last one left 0.2 s later with a tenth kept).
        places = max(1, int(rps))
        self._enhanced_limit = RequestRate(rps, reserve=min(places - 1, max(1, places // ENHANCED_RESERVE_SHARE)))
        self._rpc_limit = RequestRate(rpc_rps)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff = wait_exponential_jitter(multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s)
        self._on_retry = on_retry
        self._on_response = on_response
        self._breaker = breaker
        self._rpc_ids = itertools.count(1)

    @classmethod
    def from_settings(
        cls,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        api_url: str,
        rpc_url: str,
        api_key: str,
        on_retry: RetryHook | None = None,
        on_response: ResponseHook | None = None,
        breaker: UpstreamBreaker | None = None,
    ) -> HeliusClient:
        """Build a client with the limits and retry policy of ``settings`` behind ``breaker``."""
        return cls(
            session,
            api_url=api_url,
            rpc_url=rpc_url,
            api_key=api_key,
            rps=settings.helius_rps,
            rpc_rps=settings.helius_rpc_rps,
            timeout_s=settings.helius_timeout_s,
            attempts=settings.helius_attempts,
            backoff_initial_s=settings.helius_backoff_initial_s,
            backoff_max_s=settings.helius_backoff_max_s,
            on_retry=on_retry,
            on_response=on_response,
            breaker=breaker,
        )

    async def get_signatures(
        self, address: str, *, before: str | None = None, until: str | None = None, limit: int = MAX_SIGNATURE_PAGE
    ) -> list[dict[str, Any]]:
        """JSON-RPC ``getSignaturesForAddress``: up to ``limit`` (<= 1,000) items, newest first.

        Each item: ``signature``, ``slot``, ``blockTime`` (unix s), ``err``
        (null unless the transaction failed), ``memo``, ``confirmationStatus``.
        ``before`` is exclusive. Raises ``InvalidResponse`` if the result is not a list.
        """
        options: dict[str, Any] = {"limit": limit, "commitment": "finalized"}
        if before:
            options["before"] = before
        if until:
            options["until"] = until
        result = await self._rpc("rpc_signatures", self._rpc_limit, "getSignaturesForAddress", [address, options])
        if not isinstance(result, list):
            raise InvalidResponse("getSignaturesForAddress result is not a list", endpoint="rpc_signatures")
        return result

    async def parse_transactions(self, signatures: Sequence[str]) -> list[dict[str, Any]]:
        """``POST /v0/transactions``: enhanced transactions of up to 100 signatures.

        Each with the fields of :class:`~walletdoctor.helius.responses.EnhancedTransaction`
        (the others are skipped while decoding). Helius may leave some out
        (FACTS 1.3, incomplete answers under internal timeouts); the caller
        re-asks for what is missing. Items are returned in the order Helius
        sent them. Raises ``ValueError`` for more than 100.
        """
        if len(signatures) > MAX_PARSE_BATCH:
            raise ValueError(f"at most {MAX_PARSE_BATCH} signatures per parse request")
        body = await self._call(
            "enhanced_parse",
            self._enhanced_limit,
            "POST",
            f"{self._api_url}/v0/transactions",
            json_body={"transactions": list(signatures)},
            decode=decode_transactions,
        )
        return transaction_list(body, "enhanced_parse")

    async def address_transactions(
        self,
        address: str,
        *,
        cursor: str | None = None,
        limit: int = MAX_HISTORY_PAGE,
        vocabulary: HistoryVocabulary = HistoryVocabulary.SIGNATURE,
        oldest_first: bool = False,
        transaction_type: str | None = None,
    ) -> HistoryPage:
        """``GET /v0/addresses/{address}/transactions``: one page of the history, its
        transactions with the fields of :class:`~walletdoctor.helius.responses.EnhancedTransaction`.

        Newest first, ``cursor`` is sent as ``before-signature`` or, with the
        legacy vocabulary, ``before`` (FACTS 1.2). Oldest first
        (``sort-order=asc``, current vocabulary only) sends it as
        ``after-signature``. The "Failed to find events ... set
        before(-signature) to <sig>" answer, as HTTP 200 or 404, becomes a page
        with ``resume_from`` set instead of an error (FACTS 1.3).

        Raises:
            ValueError: oldest first with the legacy vocabulary, which has no sort order.
        """
        params: dict[str, str] = {"limit": str(limit)}
        if oldest_first:
            if vocabulary is HistoryVocabulary.LEGACY:
                raise ValueError("the legacy history parameters cannot sort oldest first")
            params["sort-order"] = "asc"
            if cursor:
                params["after-signature"] = cursor
        elif cursor:
            params["before-signature" if vocabulary is HistoryVocabulary.SIGNATURE else "before"] = cursor
        if transaction_type:
            params["type"] = transaction_type
        body = await self._call(
            "enhanced_history",
            self._enhanced_limit,
            "GET",
            f"{self._api_url}/v0/addresses/{address}/transactions",
            params=params,
            accept_search_hint=True,
            decode=decode_transactions,
        )
        if isinstance(body, dict):
            hint = search_hint(body)
            if hint is None:
                raise InvalidResponse("history answer is neither a list nor a search hint", endpoint="enhanced_history")
            return HistoryPage([], resume_from=hint)
        return HistoryPage(transaction_list(body, "enhanced_history"))

    async def get_asset_batch(self, mints: Sequence[str]) -> list[dict[str, Any] | None]:
        """DAS ``getAssetBatch``: one item per mint, in order, ``None`` for unknown mints.

        Raises ``ValueError`` for more than 1,000 mints; ``InvalidResponse``
        if the result is not a list of the same length.
        """
        if len(mints) > MAX_ASSET_BATCH:
            raise ValueError(f"at most {MAX_ASSET_BATCH} mints per getAssetBatch")
        result = await self._rpc("rpc_assets", self._enhanced_limit, "getAssetBatch", {"ids": list(mints)}, priority=HIGH_PRIORITY)
        if not isinstance(result, list) or len(result) != len(mints):
            raise InvalidResponse("getAssetBatch result does not match the ids", endpoint="rpc_assets")
        return [item if isinstance(item, dict) else None for item in result]

    async def _rpc(
        self, endpoint: str, limiter: RequestRate, method: str, params: Any, *, priority: int = NORMAL_PRIORITY
    ) -> Any:
        return await self._call(
            endpoint,
            limiter,
            "POST",
            self._rpc_url + "/",
            json_body={"jsonrpc": "2.0", "id": next(self._rpc_ids), "method": method, "params": params},
            jsonrpc=True,
            priority=priority,
        )

    async def _call(
        self,
        endpoint: str,
        limiter: RequestRate,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        accept_search_hint: bool = False,
        decode: Callable[[bytes], Any] = orjson.loads,
        jsonrpc: bool = False,
        priority: int = NORMAL_PRIORITY,
    ) -> Any:
        # The breaker sits outside the retry loop: an open circuit refuses
        # before any request or backoff sleep, it hears one outcome per call,
        # and its half-open probe is one attempt so its verdict comes quickly.
        guard = self._breaker.guard(endpoint) if self._breaker else contextlib.nullcontext(False)
        with guard as probe:
            retrying = AsyncRetrying(
                stop=stop_after_attempt(1 if probe else self._attempts),
                wait=self._wait,
                retry=retry_if_exception_type(_TRANSIENT),
                before_sleep=lambda state: self._before_retry(endpoint, state),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await limiter.acquire(priority)
                    body = await self._attempt(endpoint, method, url, params, json_body, accept_search_hint, decode)
                    return jsonrpc_result(endpoint, body) if jsonrpc else body
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self,
        endpoint: str,
        method: str,
        url: str,
        params: dict[str, str] | None,
        json_body: Any,
        accept_search_hint: bool,
        decode: Callable[[bytes], Any],
    ) -> Any:
        data = None if json_body is None else orjson.dumps(json_body)
        headers = None if data is None else {"Content-Type": "application/json"}
        try:
            async with self._session.request(
                method,
                url,
                params={**self._key_params, **(params or {})},
                data=data,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                status = response.status
                raw = await response.read()
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as exc:
            if self._on_response is not None:
                self._on_response(endpoint, "timeout")
            raise UpstreamUnavailable("request timed out", endpoint=endpoint) from exc
        except aiohttp.ClientError as exc:
            if self._on_response is not None:
                self._on_response(endpoint, "error")
            # The exception text may hold the URL, whose query carries the key.
            raise UpstreamUnavailable(f"connection failed ({type(exc).__name__})", endpoint=endpoint) from exc
        if self._on_response is not None:
            self._on_response(endpoint, status)
        return interpret_response(endpoint, status, raw, retry_after, accept_search_hint, decode)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    def _before_retry(self, endpoint: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is None:
            return
        log.debug("retrying %s after %s (attempt %d)", endpoint, type(error).__name__, state.attempt_number)
        if self._on_retry is not None:
            self._on_retry(endpoint, error)

