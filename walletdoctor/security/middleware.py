"""The security middleware of the ``/v4/`` routes: who is calling, and may they call now.

For each ``/v4/`` request (``OPTIONS`` excepted: CORS preflights carry no
credentials)::

    presented key? ──no──► keys required? ──yes──► 401 UNAUTHORIZED
         │                      │ no
        yes                     ▼
         ▼                 anonymous caller, limited by client IP
    KeyStore.verify ──unknown──► 401 UNAUTHORIZED
         │ key_id
         ▼
    RateLimiter.check(subject) ──refused──► 429 RATE_LIMIT + Retry-After
         │ allowed            └─store down──► 503 UPSTREAM_UNAVAILABLE + Retry-After
         ▼
    request[CALLER] = Caller(...); the key removed from the request; handler

The stream handler then takes a concurrent-stream lease for the caller with
:func:`stream_lease` (429 ``TOO_MANY_STREAMS`` when all slots are held).

Refusals are :class:`~walletdoctor.security.errors.SecurityError`; this
middleware answers those it raises, and those the handler raises before its
response starts, with the JSON body of every WalletDoctor error plus the
error's headers (``Retry-After``, ``WWW-Authenticate``).

The key never reaches a log line, an error body or a metric: only its
``key_id``. Downstream handlers get a clone of the request without the
``Authorization``/``X-API-Key`` headers and the ``api_key`` query parameter,
so they cannot leak it either.

The client IP is ``request.remote``: behind a trusted proxy, put a
forwarded-headers middleware (e.g. aiohttp-remotes) before this one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from walletdoctor.security.errors import RateLimited, SecurityError, Unauthorized
from walletdoctor.security.keys import QUERY_PARAMETER, KeyStore, find_presented_key, hash_key, key_id
from walletdoctor.security.leases import LeaseHold, LeaseStore
from walletdoctor.security.rate_limit import RateLimiter

__all__ = [
    "AUTH_POLICY",
    "CALLER",
    "STREAM_LEASES",
    "AuthPolicy",
    "Caller",
    "auth_middleware",
    "security_error_response",
    "stream_lease",
]

log = logging.getLogger(__name__)

_KEY_HEADERS = ("Authorization", "X-API-Key")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request: an API key's ``key_id``, or ``None`` for an anonymous caller.

    ``client_ip`` is ``request.remote`` (``"unknown"`` on a Unix socket).
    """

    key_id: str | None
    client_ip: str

    @property
    def subject(self) -> str:
        """Whose limits apply: ``"key:<key_id>"``, or ``"ip:<client_ip>"`` when anonymous."""
        return f"key:{self.key_id}" if self.key_id is not None else f"ip:{self.client_ip}"

    @property
    def anonymous(self) -> bool:
        """True when no key was presented (development only)."""
        return self.key_id is None


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """What the middleware enforces.

    Attributes:
        keys: the accepted keys (hashes).
        limiter: the per-caller request rate limit.
        require_keys: refuse requests without a key (production); when
            ``False``, such requests pass as anonymous callers limited per IP,
            and a presented key is still verified.
        path_prefix: the routes guarded; others pass untouched (``/health``, ``/metrics``).
    """

    keys: KeyStore
    limiter: RateLimiter
    require_keys: bool
    path_prefix: str = "/v4/"


#: The middleware's policy, set by the app's security cleanup context.
AUTH_POLICY = web.AppKey("auth_policy", AuthPolicy)
#: The concurrent-stream lease store used by :func:`stream_lease`.
STREAM_LEASES = web.AppKey("stream_leases", LeaseStore)
#: The caller of a request that passed the middleware.
CALLER = web.RequestKey("caller", Caller)


def security_error_response(error: SecurityError) -> web.Response:
    """The HTTP response for ``error``: its status, its headers, and the JSON body of
    :meth:`~walletdoctor.errors.WalletDoctorError.to_json`."""
    return web.json_response(error.to_json(), status=error.code.http_status, headers=error.headers)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate and rate-limit ``/v4/`` requests; see the module docstring for the flow.

    Reads :data:`AUTH_POLICY` from the app (or a parent app); stores the
    :class:`Caller` under :data:`CALLER` on the request passed to ``handler``.
    """
    policy = request.config_dict[AUTH_POLICY]
    if request.method == "OPTIONS" or not request.path.startswith(policy.path_prefix):
        return await handler(request)
    try:
        caller = _identify(request, policy)
        decision = await policy.limiter.check(caller.subject)
        if not decision.allowed:
            log.info("rate limited %s on %s: retry after %d s", caller.subject, request.path, decision.retry_after_s)
            raise RateLimited(
                retry_after_s=decision.retry_after_s, limit=policy.limiter.limit, window_s=policy.limiter.window_s
            )
        inner = _without_key(request)
        inner[CALLER] = caller
        # The handler must take its lease before its response starts; a
        # SecurityError from it is still answerable here.
        return await handler(inner)
    except SecurityError as error:
        return security_error_response(error)


def _identify(request: web.Request, policy: AuthPolicy) -> Caller:
    client_ip = request.remote or "unknown"
    presented = find_presented_key(request)
    if presented is None:
        if policy.require_keys:
            log.info("unauthorized: no API key on %s from %s", request.path, client_ip)
            raise Unauthorized("API key required", reason="missing")
        return Caller(key_id=None, client_ip=client_ip)
    kid = policy.keys.verify(presented.key)
    if kid is None:
        # The id of the presented key's hash correlates repeated attempts
        # without revealing anything about the key.
        log.info(
            "unauthorized: unknown API key id=%s via %s on %s from %s",
            key_id(hash_key(presented.key)),
            presented.source.value,
            request.path,
            client_ip,
        )
        raise Unauthorized("invalid API key", reason="invalid")
    log.debug("caller key id=%s via %s on %s", kid, presented.source.value, request.path)
    return Caller(key_id=kid, client_ip=client_ip)


def _without_key(request: web.Request) -> web.Request:
    """``request``, or a clone of it without the key's headers and query parameter."""
    has_header = any(name in request.headers for name in _KEY_HEADERS)
    has_query = QUERY_PARAMETER in request.query
    if not (has_header or has_query):
        return request
    headers = CIMultiDict(request.headers)
    for name in _KEY_HEADERS:
        headers.popall(name, None)
    clone = request.clone(
        headers=headers,
        rel_url=request.rel_url.without_query_params(QUERY_PARAMETER) if has_query else request.rel_url,
    )
    assert isinstance(clone, web.Request)
    return clone


def stream_lease(request: web.Request) -> LeaseHold:
    """One of the caller's concurrent-stream slots, to hold with ``async with`` for
    the whole stream.

    Uses :data:`STREAM_LEASES` of the app and :data:`CALLER` of the request
    (set by :func:`auth_middleware`); see :meth:`LeaseStore.hold`.

    Raises:
        TooManyStreams: on entry, every slot of the caller is held (429).
        LimitStoreUnavailable: on entry, the store failed or missed its deadline (503).
        KeyError: the request did not pass :func:`auth_middleware`.
    """
    return request.config_dict[STREAM_LEASES].hold(request[CALLER].subject)
