"""Structured logs: JSON lines on stderr, one correlation id per stream, secrets redacted.

:func:`configure_logging` sets up structlog *and* the standard ``logging``
module so that both ``structlog.get_logger()`` and the existing
``logging.getLogger(__name__)`` calls come out as the same JSON lines::

    {"event": "stream end outcome=complete", "stream_id": "9df3...", "wallet": "3Jo...",
     "level": "info", "logger": "walletdoctor.api.stream", "timestamp": "2025-06-28T15:57:02.123456Z"}

Keys on every line: ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``,
``event`` (the message), plus whatever is bound in the context
(:func:`bind_stream`) or passed as keyword arguments to a structlog logger;
``exception`` holds the formatted traceback when there is one.

Correlation: :func:`bind_stream` binds ``stream_id`` (and any other fields)
in :mod:`structlog.contextvars`. Context variables are copied into every
``asyncio`` task created while they are bound, so the stream's pipeline
task and everything under it log with the same ``stream_id``.

Redaction is a safety net, not a licence to log secrets: the last step
before rendering replaces WalletDoctor keys (``wd_`` + 32 URL-safe
characters), ``api-key=``/``api_key=`` values, bearer tokens, and the
values of keys named like credentials.

Configuration is process-wide by nature (structlog's and ``logging``'s
root): call :func:`configure_logging` once, from the CLI, before the app
starts. It replaces the root logger's handlers.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, Final, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "StreamBinding",
    "bind_stream",
    "configure_logging",
    "get_logger",
    "redact_secrets",
    "redact_text",
]

#: What a redacted secret is replaced with.
REDACTED: Final = "[REDACTED]"

# wd_ + 32 URL-safe characters (DESIGN section 5); longer runs are redacted whole,
# since over-redacting a log line costs nothing and a near miss leaks a key.
_WALLETDOCTOR_KEY: Final = re.compile(r"wd_[A-Za-z0-9_-]{32,}")
# api-key=..., api_key=..., apikey: "...", in query strings, reprs and JSON alike.
_KEY_ASSIGNMENT: Final = re.compile(r"""(?i)(api[-_]?key["']?\s*[=:]\s*["']?)(?!\[REDACTED\])[^"'&\s,;)}\]]+""")
_BEARER: Final = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SECRET_KEYS: Final = frozenset({"api_key", "api-key", "apikey", "x-api-key", "authorization", "password", "secret"})


def redact_text(text: str) -> str:
    """``text`` with every API-key-looking substring replaced by :data:`REDACTED`."""
    if "wd_" in text:
        text = _WALLETDOCTOR_KEY.sub(REDACTED, text)
    text = _KEY_ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    return value


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact secrets in every value of ``event_dict`` (nested dicts and lists too).

    Keys named like credentials (``api_key``, ``authorization``, ...) lose their value whole.
    """
    return {key: _redact_value(key, value) for key, value in event_dict.items()}


def _orjson_dumps(obj: Any, **_: Any) -> str:
    # default=str: an unexpected value in a log line is rendered, never an error.
    return orjson.dumps(obj, default=str).decode()


def configure_logging(level: str | int, json: bool = True, *, stream: TextIO | None = None) -> None:
    """Route structlog and the standard ``logging`` module to one handler on ``stream``.

    Args:
        level: the root level, a name (``"INFO"``) or a number.
        json: JSON lines (production); ``False`` for aligned, human-readable lines.
        stream: where lines go; ``sys.stderr`` by default.

    Raises:
        ValueError: ``level`` is not a known level name.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    # Run for structlog events and for records from logging.getLogger() alike.
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        # ConsoleRenderer prints tracebacks itself; JSON needs them as a string first.
        final.append(structlog.processors.format_exc_info)
    final += [redact_secrets, renderer]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (use ``__name__``); keyword arguments become JSON keys."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_stream(stream_id: str, **fields: Any) -> StreamBinding:
    """Bind ``stream_id`` (and ``fields``, e.g. ``wallet``) to every log line inside a ``with`` block.

    Tasks created inside the block inherit the binding (``asyncio`` copies
    the context at task creation); the previous values come back on exit.
    Never pass an API key here: bind a key id.
    """
    return StreamBinding({"stream_id": stream_id, **fields})


class StreamBinding:
    """The ``with`` block of :func:`bind_stream`: a class rather than a generator-based
    context manager, as one is entered for every stream."""

    __slots__ = ("_fields", "_tokens")

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._tokens: Mapping[str, Any] = {}

    def __enter__(self) -> None:
        self._tokens = structlog.contextvars.bind_contextvars(**self._fields)

    def __exit__(self, *exc_info: object) -> None:
        structlog.contextvars.reset_contextvars(**self._tokens)
