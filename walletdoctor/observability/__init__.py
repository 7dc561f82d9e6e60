"""Observability: Prometheus metrics, structured JSON logs with a per-stream id, health checks.

- :mod:`~walletdoctor.observability.metrics`: :class:`Metrics` (one registry per
  application), its HTTP middleware and the ``/metrics`` handler.
- :mod:`~walletdoctor.observability.logging`: :func:`configure_logging` (once, from
  the CLI), :func:`bind_stream` (correlation id), secret redaction.
- :mod:`~walletdoctor.observability.health`: :class:`HealthChecks` and the
  ``/health`` and ``/ready`` handlers.

Application state lives under :data:`METRICS` and :data:`HEALTH_CHECKS`.
"""

from walletdoctor.observability.health import (
    HEALTH_CHECKS,
    HealthChecks,
    UpstreamState,
    health_handler,
    ready_handler,
)
from walletdoctor.observability.logging import (
    REDACTED,
    bind_stream,
    configure_logging,
    get_logger,
    redact_secrets,
    redact_text,
)
from walletdoctor.observability.metrics import (
    BREAKER_GAUGE_VALUES,
    METRICS,
    STREAM_OUTCOMES,
    Metrics,
    metrics_handler,
    retry_reason,
)

__all__ = [
    "BREAKER_GAUGE_VALUES",
    "HEALTH_CHECKS",
    "METRICS",
    "REDACTED",
    "STREAM_OUTCOMES",
    "HealthChecks",
    "Metrics",
    "UpstreamState",
    "bind_stream",
    "configure_logging",
    "get_logger",
    "health_handler",
    "metrics_handler",
    "ready_handler",
    "redact_secrets",
    "redact_text",
    "retry_reason",
]
