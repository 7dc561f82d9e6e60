"""Every tunable of the Helius emulator, with its default, and the endpoint classes they key on.

One :class:`EmulatorSettings` instance lives on the emulator application
(``app[EMULATOR_SETTINGS]``) and is read on every request, so changing it
while the app runs (``settings.update({...})`` in-process, or
``PATCH /_emulator/settings`` from another process) takes effect on the next
request. Validation runs on construction and on every update; a bad value
raises :class:`ValueError` naming the field and leaves the settings as they
were.

Defaults reproduce Helius as documented (``shared/reference/FACTS.md`` §1):
Business-plan rate limits (§1.6: RPC 200 req/s, DAS & Enhanced 50 req/s),
the type-filter search window of 50 transactions (§1.3). Latencies are
estimates: Helius publishes none (§1.7), so RPC calls default to 150 ms and
the enhanced endpoints, which parse on the fly, to 600 ms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DEFAULT_DAS_LATENCY_S",
    "DEFAULT_ENHANCED_LATENCY_S",
    "DEFAULT_ENHANCED_RPS",
    "DEFAULT_HISTORY_SEARCH_WINDOW",
    "DEFAULT_LATENCY_JITTER",
    "DEFAULT_RATE_LIMIT_WINDOW",
    "DEFAULT_REQUEST_LOG_SIZE",
    "DEFAULT_RPC_LATENCY_S",
    "DEFAULT_RPC_RPS",
    "DEFAULT_TIMEOUT_S",
    "EmulatorSettings",
    "Endpoint",
]

DEFAULT_RPC_LATENCY_S = 0.150
DEFAULT_DAS_LATENCY_S = 0.150
DEFAULT_ENHANCED_LATENCY_S = 0.600
#: Each latency is drawn uniformly from base * (1 - jitter) .. base * (1 + jitter).
DEFAULT_LATENCY_JITTER = 0.20
DEFAULT_RPC_RPS = 200
DEFAULT_ENHANCED_RPS = 50
#: "sliding" counts any 1 s span, so no burst of twice the limit across a second boundary.
DEFAULT_RATE_LIMIT_WINDOW = "sliding"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_HISTORY_SEARCH_WINDOW = 50
DEFAULT_REQUEST_LOG_SIZE = 1000

_RATE_LIMIT_WINDOWS = ("fixed", "sliding")


class Endpoint(StrEnum):
    """The endpoint classes that stats, latencies and rate limits are kept per."""

    RPC_SIGNATURES = "rpc_signatures"  # JSON-RPC getSignaturesForAddress
    RPC_ASSETS = "rpc_assets"  # DAS getAssetBatch (served on the RPC host)
    RPC_OTHER = "rpc_other"  # unknown methods, unparsable JSON-RPC bodies
    ENHANCED_PARSE = "enhanced_parse"  # POST /v0/transactions
    ENHANCED_HISTORY = "enhanced_history"  # GET /v0/addresses/{address}/transactions


@dataclass
class EmulatorSettings:
    """The emulator's tunables. Times in seconds, rates in requests per second, ratios in 0..1.

    Latency (applied to every request that passes the rate limit):
        rpc_latency_s, das_latency_s, enhanced_latency_s: base latency of
            getSignaturesForAddress (and unknown RPC methods), getAssetBatch,
            and both enhanced endpoints. 0 means answer at once.
        latency_jitter: relative spread, e.g. 0.2 gives base ± 20 %.

    Rate limit (FACTS §1.6; over it: HTTP 429 with the JSON-RPC-shaped body):
        rpc_rps: standard RPC methods. enhanced_rps: the "DAS & Enhanced
            APIs" budget, one shared window for getAssetBatch and both
            enhanced endpoints (the stricter reading of Helius' table, so a
            client that fits it fits either reading). 0 = unlimited.
        rate_limit_window: "sliding" (any 1 s span) or "fixed" (calendar seconds).
        retry_after: whether 429 answers carry ``Retry-After`` (whole
            seconds); Helius does not document it (FACTS §1.6), so clients
            must cope with both.

    Faults (drawn per request from an RNG seeded with ``fault_seed``):
        server_error_ratio: answer 500, 502, 503 or 504 at once.
        timeout_ratio: hang ``timeout_s`` seconds, then answer 504.
        malformed_ratio: HTTP 200 with a truncated JSON or an HTML body.
        incomplete_ratio: POST /v0/transactions and history pages silently
            omit some transactions (FACTS §1.3, "internal timeouts").
        The first three are exclusive and must sum to at most 1.

    History endpoint quirks (FACTS §1.3):
        history_search_window: transactions one type/source-filtered request
            scans before giving up with "Failed to find events".
        search_error_as_404: give that answer as HTTP 404 with the older
            "`before` parameter" wording instead of HTTP 200 with the
            current "`before-signature` parameter" wording.

    Wallets:
        synthetic_wallets: address -> number of transactions, generated on
            first use. synthetic_default_size: size for any other valid
            address the book does not know (0: such an address has an empty
            history, like a real wallet with none).

    Bookkeeping:
        request_log_size: how many recent requests the stats keep.

    Raises:
        ValueError: a field has the wrong type or is out of range.
    """

    rpc_latency_s: float = DEFAULT_RPC_LATENCY_S
    das_latency_s: float = DEFAULT_DAS_LATENCY_S
    enhanced_latency_s: float = DEFAULT_ENHANCED_LATENCY_S
    latency_jitter: float = DEFAULT_LATENCY_JITTER
    rpc_rps: int = DEFAULT_RPC_RPS
    enhanced_rps: int = DEFAULT_ENHANCED_RPS
    rate_limit_window: str = DEFAULT_RATE_LIMIT_WINDOW
    retry_after: bool = True
    server_error_ratio: float = 0.0
    timeout_ratio: float = 0.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    malformed_ratio: float = 0.0
    incomplete_ratio: float = 0.0
    fault_seed: int = 0
    history_search_window: int = DEFAULT_HISTORY_SEARCH_WINDOW
    search_error_as_404: bool = False
    synthetic_wallets: dict[str, int] = field(default_factory=dict)
    synthetic_default_size: int = 0
    request_log_size: int = DEFAULT_REQUEST_LOG_SIZE

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def instant(cls, **overrides: Any) -> EmulatorSettings:
        """Settings for tests: no latency, no rate limit, no faults, plus ``overrides``."""
        base: dict[str, Any] = {
            "rpc_latency_s": 0.0,
            "das_latency_s": 0.0,
            "enhanced_latency_s": 0.0,
            "rpc_rps": 0,
            "enhanced_rps": 0,
        }
        return cls(**(base | overrides))

    def latency_s(self, endpoint: Endpoint) -> float:
        """Base latency (seconds) of ``endpoint``, before jitter."""
        if endpoint is Endpoint.RPC_ASSETS:
            return self.das_latency_s
        if endpoint is Endpoint.ENHANCED_PARSE or endpoint is Endpoint.ENHANCED_HISTORY:
            return self.enhanced_latency_s
        return self.rpc_latency_s

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (``GET /_emulator/settings``)."""
        return dataclasses.asdict(self)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` (field -> value) atomically: all of them or, on error, none.

        Raises:
            ValueError: an unknown field name, or a value :meth:`validate` rejects.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        candidate = dataclasses.replace(self, **changes)  # validates in __post_init__
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def validate(self) -> None:
        """Check every field's type and range. Raises ValueError naming the first bad field."""
        for f in dataclasses.fields(self):
            _check_type(f.name, str(f.type), getattr(self, f.name))
        for name in ("rpc_latency_s", "das_latency_s", "enhanced_latency_s", "timeout_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 seconds")
        for name in ("rpc_rps", "enhanced_rps", "synthetic_default_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        ratios = ("latency_jitter", "server_error_ratio", "timeout_ratio", "malformed_ratio", "incomplete_ratio")
        for name in ratios:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if self.server_error_ratio + self.timeout_ratio + self.malformed_ratio > 1.0:
            raise ValueError("server_error_ratio + timeout_ratio + malformed_ratio must be <= 1")
        if self.rate_limit_window not in _RATE_LIMIT_WINDOWS:
            raise ValueError(f"rate_limit_window must be one of {_RATE_LIMIT_WINDOWS}")
        if self.history_search_window < 1:
            raise ValueError("history_search_window must be >= 1")
        if self.request_log_size < 0:
            raise ValueError("request_log_size must be >= 0")
        for address, size in self.synthetic_wallets.items():
            if not isinstance(address, str) or isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError("synthetic_wallets must map address strings to sizes >= 0")


def _check_type(name: str, annotation: str, value: Any) -> None:
    # Values arrive from JSON (PATCH) as well as from Python, so ints stand in
    # for floats, but bools (an int subclass) never stand in for numbers.
    if annotation == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif annotation == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation == "bool":
        ok = isinstance(value, bool)
    elif annotation == "str":
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, dict)
    if not ok:
        raise ValueError(f"{name} must be of type {annotation}, got {type(value).__name__}")
