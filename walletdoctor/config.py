"""Settings, read once from the environment (or a ``.env`` file) and validated at start-up.

Every tunable is a named default here; nothing else in the package reads
``os.environ``. Environment variable names are the upper-case field names
(``HELIUS_API_KEY``, ``PORT``, ``HEARTBEAT_S`` ...).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_PORT",
    "DEFAULT_SHUTDOWN_GRACE_S",
    "FetchStrategy",
    "HistoryVocabulary",
    "Settings",
]

DEFAULT_PORT = 8080
#: Heartbeat when a stream is otherwise quiet; below nginx's 60 s
#: ``proxy_read_timeout`` and the usual 30 s proxy idle limits (FACTS 4).
DEFAULT_HEARTBEAT_S = 10.0
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 1000
#: SIGTERM to exit, seconds: under the 30 s after which Procfile platforms
#: (Heroku, Dokku, Render...) follow SIGTERM with SIGKILL.
DEFAULT_SHUTDOWN_GRACE_S = 25.0
#: Share of the grace period kept for closing Redis, the upstream sessions
#: and the embedded emulator after the open streams ended (at most 5 s).
_SHUTDOWN_CLEANUP_SHARE = 0.2
_SHUTDOWN_CLEANUP_MAX_S = 5.0


class FetchStrategy(str, enum.Enum):
    """How the history is fetched from Helius (see ``walletdoctor.helius.fetch``)."""

    PIPELINED = "pipelined"
    HISTORY = "history"


class HistoryVocabulary(str, enum.Enum):
    """Parameter names of ``GET /v0/addresses/{address}/transactions``.

    Helius renamed ``before``/``until`` to ``before-signature``/``after-signature``
    on 2025-12-21 (FACTS 1.2); both are still met in the field.
    """

    SIGNATURE = "signature"
    LEGACY = "legacy"


class Settings(BaseSettings):
    """WalletDoctor's configuration.

    Units are in the names: ``_s`` seconds, ``_ms`` milliseconds, ``_rps``
    requests per second.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    env: str = Field(default="development", pattern="^(development|production)$")
    host: str = "0.0.0.0"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    #: Server processes sharing the port (``SO_REUSEPORT``); Procfile platforms
    #: set ``WEB_CONCURRENCY`` to the dyno's size. Several need ``REDIS_URL``
    #: for limits and resume to span them.
    workers: int = Field(default=1, ge=1, le=256, validation_alias=AliasChoices("WEB_CONCURRENCY", "WORKERS", "workers"))
    #: Level of the JSON log lines on stderr (case-insensitive).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    helius_api_key: SecretStr | None = None
    #: Enhanced Transactions API host (FACTS 1.2: api-mainnet.helius-rpc.com).
    helius_api_url: str = "https://api-mainnet.helius-rpc.com"
    #: JSON-RPC and DAS host.
    helius_rpc_url: str = "https://mainnet.helius-rpc.com"
    #: Per-process limit on Enhanced API and DAS calls; Helius' Business plan
    #: allows 50/s, Developer 10/s (FACTS 1.6): set it to your plan.
    helius_rps: float = Field(default=50.0, gt=0)
    #: Per-process limit on standard RPC calls (Business plan: 200/s).
    helius_rpc_rps: float = Field(default=200.0, gt=0)
    helius_timeout_s: float = Field(default=20.0, gt=0)
    #: Attempts per upstream request (first try included) before giving up.
    helius_attempts: int = Field(default=6, ge=1)
    helius_backoff_initial_s: float = Field(default=0.5, ge=0)
    helius_backoff_max_s: float = Field(default=8.0, ge=0)
    helius_connections: int = Field(default=256, ge=1)
    fetch_strategy: FetchStrategy = FetchStrategy.PIPELINED
    history_vocabulary: HistoryVocabulary = HistoryVocabulary.SIGNATURE
    #: Bound on "Failed to find events ... set before-signature" continuations
    #: in a row (FACTS 1.3), so a sparse history cannot loop forever.
    history_max_continuations: int = Field(default=20, ge=0)
    #: Parse batches (100 signatures each) in flight or waiting per stream.
    #: Keeping the rate limit busy takes rps x latency in flight (50/s x 0.6 s
    #: = 30); 64 lets a stream's whole first second of requests leave before
    #: the first answer (the real wallet's history, cold: 2.82 s at 32, 2.64-
    #: 2.69 s at 64; bench whole-wallet). A stream holds its parsed batches as
    #: trades (about 64 kB per batch of real transactions, against 1 MB
    #: decoded), so a fast upstream that answers a whole window at once costs
    #: little: a 200k-transaction wallet's peak memory grew by 21-26 MB.
    parse_window: int = Field(default=64, ge=1)

    #: Birdeye, for historical USD prices; unset means the embedded
    #: emulator's ``/birdeye`` (recorded prices of the real wallet).
    birdeye_api_key: SecretStr | None = None
    birdeye_api_url: str = "https://public-api.birdeye.so"
    #: Per-process limit on Birdeye requests. 15/s is Birdeye's Starter plan
    #: (Standard 1/s, Premium 50/s, Business 100/s; per account, across all
    #: endpoints: docs.birdeye.so "Rate Limiting"): set it to your plan,
    #: divided by the processes sharing the key.
    birdeye_rps: float = Field(default=15.0, gt=0)
    birdeye_timeout_s: float = Field(default=10.0, gt=0)
    #: Attempts per Birdeye request (first try included); prices are
    #: optional, so fewer than Helius' before a trade is left unpriced.
    birdeye_attempts: int = Field(default=3, ge=1)

    heartbeat_s: float = Field(default=DEFAULT_HEARTBEAT_S, gt=0)
    #: ``retry:`` hint sent at the start of every stream (WHATWG SSE reconnection time).
    retry_ms: int = Field(default=3000, ge=0)
    #: Open streams one process is sized for (load-tested), exported as
    #: ``walletdoctor_streams_capacity`` for the near-capacity alert; 0: not
    #: set (the alert stays silent). Nothing is refused on reaching it.
    stream_capacity: int = Field(default=0, ge=0)
    #: Events a fetch may run ahead of the fastest stream reading it: the
    #: bound between a feed's producer and its readers (backpressure).
    feed_lookahead: int = Field(default=8, ge=1)
    #: Most event bytes a feed keeps in memory for its streams (late joiners,
    #: slow readers, resume); a reader that falls further behind is cut off.
    #: 4 MiB holds the whole stream of a 6,500-trade wallet.
    feed_buffer_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    #: How long a stream stays resumable (``Last-Event-ID``) after it ends, seconds.
    resume_ttl_s: float = Field(default=300.0, gt=0)
    #: Memory for the events of ended streams kept for resume in this process,
    #: bytes; past it the oldest go first (with Redis they resume from there).
    resume_memory_bytes: int = Field(default=256 * 1024 * 1024, ge=0)
    #: Most events kept per stream in Redis (approximate ``MAXLEN``).
    resume_max_events: int = Field(default=10_000, ge=10)
    #: Lease of the process producing a feed, seconds: another process may
    #: take a stream over this long after the process producing it died.
    feed_owner_ttl_s: float = Field(default=5.0, gt=0)
    #: Fetched upstream pages (signature pages, parsed transactions) are kept
    #: this long, seconds, so that a continued fetch does not ask Helius again.
    upstream_cache_ttl_s: float = Field(default=600.0, ge=0)
    #: Memory for that cache when there is no Redis, bytes (0: no cache, the
    #: default: a real wallet's history is tens of MB of JSON, and with many
    #: streams per process memory goes to them first).
    upstream_cache_bytes: int = Field(default=0, ge=0)
    #: A write that does not complete in this time drops the client.
    write_timeout_s: float = Field(default=30.0, gt=0)
    #: Longest a stream may stay open, seconds (env ``STREAM_TIMEOUT``).
    stream_timeout_s: float = Field(
        default=600.0, gt=0, validation_alias=AliasChoices("STREAM_TIMEOUT", "STREAM_TIMEOUT_S", "stream_timeout_s")
    )
    #: Longest time from SIGTERM to the end of the process, seconds; see
    #: :attr:`shutdown_drain_s` for how it is shared out.
    shutdown_grace_s: float = Field(default=DEFAULT_SHUTDOWN_GRACE_S, gt=0)

    #: Latency model of the embedded emulator used when no HELIUS_API_KEY is set.
    emulator_rpc_latency_s: float = Field(default=0.150, ge=0)
    emulator_enhanced_latency_s: float = Field(default=0.600, ge=0)
    #: Latency of the embedded emulator's Birdeye routes (Birdeye publishes none).
    emulator_birdeye_latency_s: float = Field(default=0.200, ge=0)

    #: Hashes (``sha256:<hex>``) of the accepted API keys, comma-separated;
    #: ``walletdoctor keys create`` makes a key and prints its hash line.
    api_keys: str = ""
    #: A file of such hashes, one per line (``#`` comments allowed).
    api_keys_file: Path | None = None
    #: Origins allowed to call the API from a browser, comma-separated.
    allowed_origins: str = ""
    #: Requests per key per minute (moving window), and concurrent streams per key.
    rate_limit_per_minute: int = Field(default=50, ge=1)
    max_streams_per_key: int = Field(default=10, ge=1)
    #: A stream's slot lease in Redis expires this long after its last renewal.
    stream_lease_ttl_s: float = Field(default=30.0, gt=0)
    #: Shared state for several processes and hosts; unset keeps all in memory.
    redis_url: SecretStr | None = None
    redis_timeout_s: float = Field(default=2.0, gt=0)
    #: Consecutive failed upstream calls that open the breaker, and how long it stays open.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_recovery_s: float = Field(default=10.0, gt=0)
    #: Largest request body, and largest request line / header field, in bytes.
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)
    max_header_bytes: int = Field(default=8190, ge=1024)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def shutdown_drain_s(self) -> float:
        """Of :attr:`shutdown_grace_s`, how long open streams may take to end after
        being told ``SHUTTING_DOWN`` (aiohttp's ``shutdown_timeout``), seconds.

        The rest (a fifth, at most 5 s) is left for the cleanup contexts, so the
        whole shutdown fits the grace period: 20 s of 25 s by default.
        """
        grace = self.shutdown_grace_s
        return grace - min(_SHUTDOWN_CLEANUP_MAX_S, grace * _SHUTDOWN_CLEANUP_SHARE)

    @property
    def production(self) -> bool:
        """True when ``ENV=production``: unsafe settings refuse to start."""
        return self.env == "production"

    @property
    def origins(self) -> list[str]:
        """``allowed_origins`` as a list (empty: no cross-origin browser access)."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    def unsafe_setting(self) -> tuple[str, str] | None:
        """The first setting the server must not start with, as (VARIABLE, reason), else ``None``.

        In every environment the key store must be usable: ``API_KEYS_FILE``
        readable, and ``API_KEYS`` and the file holding only ``sha256:`` hashes
        (the reason names an entry by position, never by its text: it may be a
        raw key). Production also needs API keys (``API_KEYS`` or
        ``API_KEYS_FILE``), an explicit origin allow-list without ``*``, and a
        real ``HELIUS_API_KEY`` (no embedded emulator).
        """
        # Imported here: the security package imports Redis and the rate-limit
        # library, which settings alone do not need.
        from walletdoctor.security.keys import KeyStore

        if self.api_keys_file is not None and not self.api_keys_file.is_file():
            return "API_KEYS_FILE", f"no such key file: {self.api_keys_file}"
        try:
            keys = len(KeyStore.load(self.api_keys))
        except ValueError as exc:
            return "API_KEYS", str(exc)
        try:
            keys += len(KeyStore.load(None, self.api_keys_file))
        except (OSError, UnicodeDecodeError):
            # Before ValueError, of which UnicodeDecodeError is one: its text quotes bytes of the file.
            return "API_KEYS_FILE", f"cannot read the key file {self.api_keys_file} as UTF-8 text"
        except ValueError as exc:
            return "API_KEYS_FILE", str(exc)
        if not self.production:
            return None
        if keys == 0:
            if self.api_keys_file is not None:
                return "API_KEYS_FILE", f"production requires API keys; {self.api_keys_file} holds none"
            return "API_KEYS", "production requires API keys (API_KEYS or API_KEYS_FILE)"
        if "*" in self.origins:
            return "ALLOWED_ORIGINS", "production must list its origins explicitly, not '*'"
        if self.helius_api_key is None or not self.helius_api_key.get_secret_value().strip():
            return "HELIUS_API_KEY", "production requires a Helius API key (the emulator is for development)"
        return None

    @property
    def uses_emulator(self) -> bool:
        """True when no Helius key is configured: the server embeds the emulator."""
        return self.helius_api_key is None
