"""API keys, request rate limits and concurrent-stream leases (DESIGN section 5).

One module per concept:

- ``keys``: the ``wd_`` key format, hashed storage (:class:`KeyStore`), reading a
  request's key (Bearer, ``X-API-Key``, ``api_key`` query parameter);
- ``rate_limit``: 50 requests per moving minute per caller (:class:`RateLimiter`);
- ``leases``: 10 concurrent streams per caller (:class:`MemoryLeaseStore`,
  :class:`RedisLeaseStore` with expiring leases);
- ``middleware``: the ``/v4/`` middleware tying them together (:func:`auth_middleware`)
  and :func:`stream_lease` for the stream handler;
- ``store``: bounded waits on Redis and the translation of its failures;
- ``errors``: the refusals (error tree in its docstring).

Memory or Redis is chosen by injection: the app builds the stores it wants
and puts them under :data:`AUTH_POLICY` and :data:`STREAM_LEASES`.
"""

from walletdoctor.security.errors import (
    LimitExceeded,
    LimitStoreUnavailable,
    RateLimited,
    SecurityError,
    TooManyStreams,
    Unauthorized,
)
from walletdoctor.security.keys import KeyStore, create_key, generate_key, hash_key, key_id, presented_key
from walletdoctor.security.leases import Lease, LeaseStore, MemoryLeaseStore, RedisLeaseStore
from walletdoctor.security.middleware import (
    AUTH_POLICY,
    CALLER,
    STREAM_LEASES,
    AuthPolicy,
    Caller,
    auth_middleware,
    stream_lease,
)
from walletdoctor.security.rate_limit import RateDecision, RateLimiter
from walletdoctor.security.store import connect_redis

__all__ = [
    "AUTH_POLICY",
    "CALLER",
    "STREAM_LEASES",
    "AuthPolicy",
    "Caller",
    "KeyStore",
    "Lease",
    "LeaseStore",
    "LimitExceeded",
    "LimitStoreUnavailable",
    "MemoryLeaseStore",
    "RateDecision",
    "RateLimited",
    "RateLimiter",
    "RedisLeaseStore",
    "SecurityError",
    "TooManyStreams",
    "Unauthorized",
    "auth_middleware",
    "connect_redis",
    "create_key",
    "generate_key",
    "hash_key",
    "key_id",
    "presented_key",
    "stream_lease",
]
