"""Prometheus metrics of one WalletDoctor application, and its ``/metrics`` endpoint.

Every :class:`Metrics` owns its own ``CollectorRegistry``: nothing is
registered in prometheus_client's global default registry, so several
applications (tests, or an app beside the embedded emulator) live in one
process without "Duplicated timeseries" errors.

Series (all prefixed ``walletdoctor_``)::

    streams_active                      gauge      open SSE streams
    streams_capacity                    gauge      streams this process is sized for (when known)
    streams_started_total               counter
    streams_ended_total{outcome}        counter    complete|error|disconnected|stalled|timeout|shutdown
    stream_events_total{event}          counter    SSE events written, by event type
    stream_bytes_total                  counter    bytes of SSE frames written
    stream_trades_total                 counter    trade objects written
    stream_first_event_seconds          histogram  request -> first trades event (or the final one)
    stream_duration_seconds             histogram  request -> end of stream
    upstream_requests_total{endpoint,status}  counter  one per Helius attempt
    upstream_rate_limited_total{endpoint}     counter  429 answers
    upstream_retries_total{endpoint,reason}   counter  retries after a transient error
    circuit_breaker_state{name}         gauge      0 closed, 1 half-open, 2 open
    http_requests_total{route,status}   counter    every HTTP request, by route template
    build_info{version}                 gauge      always 1

Labels are bounded sets chosen by the code (outcome, event, endpoint,
reason, route template, status): never a wallet, a path or an API key.
The per-event path (:meth:`Metrics.event_sent`) is two dict look-ups and
two counter increments: labelled children are bound once, not per call.

Names follow Prometheus' "Metric and label naming" (base units seconds and
bytes, ``_total`` on counters); ``/metrics`` answers in the text exposition
format 0.0.4, or OpenMetrics 1.0 when the scraper's ``Accept`` asks for it
(``prometheus_client.exposition.choose_encoder``).

Each process serves its own series; Prometheus sums them across
``instance`` (prometheus_client's multiprocess mode needs a shared
directory in the environment and a global registry, which this avoids).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import Final, cast

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, GCCollector, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder

from walletdoctor import __version__
from walletdoctor.sse.event import EventName

__all__ = [
    "BREAKER_GAUGE_VALUES",
    "CLIENT_CLOSED",
    "LATENCY_BUCKETS_S",
    "METRICS",
    "STREAM_OUTCOMES",
    "UPSTREAM_ENDPOINTS",
    "Metrics",
    "metrics_handler",
    "retry_reason",
]

#: Histogram buckets, seconds: 10 ms to 10 min, dense around the 1-2 s a first batch takes.
LATENCY_BUCKETS_S: Final = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)

#: How a stream can end (the ``StreamOutcome`` values); bound up front so every
#: series exists at zero and ``rate()`` works from the first scrape.
STREAM_OUTCOMES: Final = ("complete", "error", "disconnected", "stalled", "timeout", "shutdown")

#: The endpoint names :class:`walletdoctor.helius.client.HeliusClient` reports.
UPSTREAM_ENDPOINTS: Final = ("rpc_signatures", "rpc_assets", "enhanced_parse", "enhanced_history")

#: Status label for a request the client abandoned before the response ended
#: (nginx's "client closed request"): an SSE client leaving mid-stream.
#: Status counted for a request whose client left before its answer (nginx's 499).
CLIENT_CLOSED = 499
_UNMATCHED_ROUTE = "unmatched"
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")

#: ``circuit_breaker_state`` values of the states of :class:`walletdoctor.helius.breaker.BreakerState`.
BREAKER_GAUGE_VALUES: Final = MappingProxyType({"closed": 0, "half_open": 1, "open": 2})


def retry_reason(error: BaseException) -> str:
    """The ``reason`` label for a retry caused by ``error``: its class name in snake case.

    ``RateLimited`` -> ``rate_limited``, ``UpstreamUnavailable`` -> ``upstream_unavailable``.
    Only the client's transient error classes are retried, so the label set stays small.
    """
    return _CAMEL_BOUNDARY.sub("_", type(error).__name__).lower()


def _label(value: object) -> str:
    # str-mixin enums (StreamOutcome, EventName) print as "Class.MEMBER" in Python 3.11.
    return str(getattr(value, "value", value))


class Metrics:
    """The application's metrics, in a registry of their own.

    Args:
        stream_capacity: streams one process is sized for; exported as
            ``streams_capacity`` so alerts can compare it with ``streams_active``.
        process_collectors: also export ``process_*`` (CPU, memory, file
            descriptors) and ``python_gc_*`` into this registry.

    Attributes:
        registry: the ``CollectorRegistry`` holding every series above.

    ``http_requests_total`` is counted by the outermost middleware
    (:func:`walletdoctor.api.errors.response_middleware`), through
    :meth:`http_response`, so that it sees every final status.
    """

    def __init__(self, *, stream_capacity: int | None = None, process_collectors: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        if process_collectors:
            ProcessCollector(registry=registry)
            GCCollector(registry=registry)
        self._active = Gauge("walletdoctor_streams_active", "Open SSE streams.", registry=registry)
        self._capacity = Gauge(
            "walletdoctor_streams_capacity", "Streams one process is sized for (0: not set).", registry=registry
        )
        if stream_capacity is not None:
            self._capacity.set(stream_capacity)
        self._started = Counter("walletdoctor_streams_started", "SSE streams started.", registry=registry)
        self._ended_family = Counter(
            "walletdoctor_streams_ended", "SSE streams ended, by outcome.", ["outcome"], registry=registry
        )
        self._ended = _children(self._ended_family, STREAM_OUTCOMES)
        self._events_family = Counter(
            "walletdoctor_stream_events", "SSE events written, by event type.", ["event"], registry=registry
        )
        self._events = _children(self._events_family, (name.value for name in EventName))
        self._bytes = Counter("walletdoctor_stream_bytes", "Bytes of SSE frames written.", registry=registry)
        self._trades = Counter("walletdoctor_stream_trades", "Trade objects written to streams.", registry=registry)
        self._first_event = Histogram(
            "walletdoctor_stream_first_event_seconds",
            "Seconds from the request to the stream's first trades event (or its final event).",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self._duration = Histogram(
            "walletdoctor_stream_duration_seconds",
            "Seconds from the request to the end of the stream.",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self._upstream_family = Counter(
            "walletdoctor_upstream_requests",
            "Helius request attempts, by endpoint and HTTP status (or timeout/error).",
            ["endpoint", "status"],
            registry=registry,
        )
        self._upstream: dict[tuple[str, str], Counter] = {}
        self._rate_limited_family = Counter(
            "walletdoctor_upstream_rate_limited", "Helius rate-limit answers (429), by endpoint.", ["endpoint"],
            registry=registry,
        )
        self._rate_limited = _children(self._rate_limited_family, UPSTREAM_ENDPOINTS)
        self._retries_family = Counter(
            "walletdoctor_upstream_retries",
            "Helius retries after a transient error, by endpoint and reason.",
            ["endpoint", "reason"],
            registry=registry,
        )
        self._retries: dict[tuple[str, str], Counter] = {}
        self._breaker = Gauge(
            "walletdoctor_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["name"],
            registry=registry,
        )
        self._http_family = Counter(
            "walletdoctor_http_requests", "HTTP requests, by route template and status.", ["route", "status"],
            registry=registry,
        )
        self._http: dict[tuple[str, str], Counter] = {}
        build = Gauge("walletdoctor_build_info", "The running version; always 1.", ["version"], registry=registry)
        build.labels(version=__version__).set(1)
        self._active_count = 0

    @property
    def active_streams(self) -> int:
        """Streams started and not yet ended (for ``/health``)."""
        return self._active_count

    def set_stream_capacity(self, streams: int) -> None:
        """Export the number of streams one process is sized for."""
        self._capacity.set(streams)

    def stream_started(self) -> None:
        """A stream started: ``streams_started_total`` +1, ``streams_active`` +1."""
        self._active_count += 1
        self._active.inc()
        self._started.inc()

    def stream_ended(self, outcome: str, duration_s: float) -> None:
        """A stream ended after ``duration_s`` seconds with ``outcome`` (a ``StreamOutcome`` or its value).

        Call exactly once per :meth:`stream_started`, from a ``finally``.
        """
        self._active_count -= 1
        self._active.dec()
        self._child(self._ended, self._ended_family, outcome).inc()
        self._duration.observe(duration_s)

    def first_event(self, latency_s: float) -> None:
        """Seconds from the request to the first ``trades`` event; once per stream."""
        self._first_event.observe(latency_s)

    def event_sent(self, name: str, nbytes: int) -> None:
        """One SSE event of type ``name`` (an ``EventName`` or its value) written: ``nbytes`` bytes."""
        self._child(self._events, self._events_family, name).inc()
        self._bytes.inc(nbytes)

    def trades_sent(self, n: int) -> None:
        """``n`` trade objects written (the length of a ``trades`` event's list)."""
        self._trades.inc(n)

    def upstream_request(self, endpoint: str, status: int | str) -> None:
        """One Helius attempt on ``endpoint`` answered ``status`` (HTTP code, or ``"timeout"``/``"error"``).

        A 429 also counts in ``upstream_rate_limited_total``.
        """
        key = (endpoint, str(status))
        child = self._upstream.get(key)
        if child is None:
            child = self._upstream[key] = self._upstream_family.labels(endpoint=key[0], status=key[1])
        child.inc()
        if key[1] == "429":
            self.upstream_rate_limited(endpoint)

    def upstream_rate_limited(self, endpoint: str) -> None:
        """A rate-limit answer on ``endpoint`` not seen as HTTP 429 (JSON-RPC ``-32005``)."""
        self._child(self._rate_limited, self._rate_limited_family, endpoint).inc()

    def upstream_retry(self, endpoint: str, reason: str) -> None:
        """A retry of ``endpoint`` because of ``reason`` (see :func:`retry_reason`)."""
        key = (endpoint, reason)
        child = self._retries.get(key)
        if child is None:
            child = self._retries[key] = self._retries_family.labels(endpoint=endpoint, reason=reason)
        child.inc()

    def on_retry(self, endpoint: str, error: BaseException) -> None:
        """``HeliusClient``'s ``on_retry`` hook: counts the retry with :func:`retry_reason` of ``error``."""
        self.upstream_retry(endpoint, retry_reason(error))

    def breaker_state(self, name: str, state: str | int) -> None:
        """Circuit breaker ``name`` is now in ``state``: ``"closed"``, ``"half_open"`` (or
        ``"half-open"``), ``"open"`` (a ``helius.breaker.BreakerState`` is one of these), or
        the gauge value 0, 1, 2 itself.

        Raises:
            ValueError: an unknown state.
        """
        if isinstance(state, str):
            value = BREAKER_GAUGE_VALUES.get(_label(state).lower().replace("-", "_"))
        else:
            value = state if state in BREAKER_GAUGE_VALUES.values() else None
        if value is None:
            raise ValueError(f"unknown circuit breaker state {state!r}")
        self._breaker.labels(name=name).set(value)

    def on_breaker_change(self, name: str, old: str, new: str) -> None:
        """``UpstreamBreaker``'s ``on_state_change`` hook: sets the gauge of ``name`` to ``new``."""
        self.breaker_state(name, new)

    def http_response(self, request: web.Request, status: int) -> None:
        """``request`` was answered ``status`` (:data:`CLIENT_CLOSED`, 499, when the client
        left first): counted by its route template, never its raw path."""
        resource = request.match_info.route.resource
        self.http_request(resource.canonical if resource is not None else _UNMATCHED_ROUTE, status)

    def http_request(self, route: str, status: int) -> None:
        """One HTTP request on ``route`` (a route template, never a raw path) answered ``status``."""
        key = (route, str(status))
        child = self._http.get(key)
        if child is None:
            child = self._http[key] = self._http_family.labels(route=key[0], status=key[1])
        child.inc()

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format ``accept`` asks for (Prometheus text by default,
        OpenMetrics on request): ``(body, content_type)``."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    @staticmethod
    def _child(children: dict[str, Counter], family: Counter, value: object) -> Counter:
        # A str-mixin enum member hashes and compares like its value: one look-up on the hot path.
        child = children.get(value)  # type: ignore[call-overload]
        if child is None:
            label = _label(value)
            child = children.get(label)
            if child is None:
                child = children[label] = family.labels(label)
        return cast(Counter, child)


def _children(family: Counter, values: Iterable[str]) -> dict[str, Counter]:
    return {value: family.labels(value) for value in values}


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: the app's :data:`METRICS` in Prometheus text format (OpenMetrics if asked)."""
    body, content_type = request.app[METRICS].render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})


#: Where the application keeps its :class:`Metrics` (re-exported by ``walletdoctor.appkeys``).
METRICS: Final = web.AppKey("metrics", Metrics)
