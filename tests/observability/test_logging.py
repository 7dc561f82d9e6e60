"""Structured logs: JSON lines for structlog and stdlib loggers, stream_id on every line, keys redacted."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import structlog
from aiohttp import web

from walletdoctor.observability import REDACTED, bind_stream, configure_logging, get_logger, redact_text

KEY = "wd_" + "Zz9_Yy8-Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging is process-wide: put the root logger and structlog back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.configure(**config)


@pytest.fixture
def json_lines(restore_logging: None) -> Lines:
    """Configure JSON logging at DEBUG into a buffer; returns a reader of the parsed lines."""
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)

    def read() -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in buffer.getvalue().splitlines()]

    return read


def test_stdlib_and_structlog_loggers_write_the_same_json_lines(json_lines: Lines) -> None:
    logging.getLogger("walletdoctor.api.stream").info("stream %s start batch_size=%d", "abc", 100)
    get_logger("walletdoctor.streams").warning("queue full", depth=8)
    stdlib, native = json_lines()
    assert stdlib["event"] == "stream abc start batch_size=100"
    assert stdlib["level"] == "info" and stdlib["logger"] == "walletdoctor.api.stream"
    assert native["event"] == "queue full" and native["depth"] == 8
    assert native["level"] == "warning" and native["logger"] == "walletdoctor.streams"
    for line in (stdlib, native):
        assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_level_comes_from_the_parameter(restore_logging: None) -> None:
    buffer = io.StringIO()
    configure_logging("warning", stream=buffer)
    logging.getLogger("walletdoctor").info("hidden")
    get_logger("walletdoctor").debug("hidden too")
    logging.getLogger("walletdoctor").error("shown")
    assert [orjson.loads(line)["event"] for line in buffer.getvalue().splitlines()] == ["shown"]


def test_unknown_level_is_refused(restore_logging: None) -> None:
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("LOUD", stream=io.StringIO())


def test_console_renderer_for_development(restore_logging: None) -> None:
    buffer = io.StringIO()
    configure_logging("INFO", json=False, stream=buffer)
    with bind_stream("s-1"):
        logging.getLogger("walletdoctor").info("hello")
    text = buffer.getvalue()
    assert "hello" in text and "stream_id=s-1" in text and not text.startswith("{")


def test_exceptions_are_rendered_into_the_json_line(json_lines: Lines) -> None:
    try:
        raise RuntimeError(f"GET https://api.example/v0/x?api-key={KEY}&limit=1 failed")
    except RuntimeError:
        logging.getLogger("walletdoctor").exception("upstream call failed")
    (line,) = json_lines()
    assert "RuntimeError" in line["exception"]
    assert KEY not in line["exception"] and "api-key=" + REDACTED in line["exception"]


async def test_stream_id_on_lines_from_the_handler_and_from_its_task(
    json_lines: Lines, aiohttp_client: Any
) -> None:
    log = logging.getLogger("walletdoctor.api.stream")

    async def pipeline() -> None:
        log.info("pipeline page")
        await asyncio.sleep(0)
        get_logger("walletdoctor.streams.pipeline").info("pipeline done", pages=1)

    async def handler(request: web.Request) -> web.Response:
        with bind_stream("stream-42", wallet="3Jo"):
            log.info("stream start")
            await asyncio.create_task(pipeline())
            log.info("stream end")
        log.info("after the stream")
        return web.Response(text="ok")

    client = await aiohttp_client(_app(handler))
    assert (await client.get("/")).status == 200
    by_event = {line["event"]: line for line in json_lines()}
    for event in ("stream start", "pipeline page", "pipeline done", "stream end"):
        assert by_event[event]["stream_id"] == "stream-42", event
        assert by_event[event]["wallet"] == "3Jo", event
    assert "stream_id" not in by_event["after the stream"]


async def test_concurrent_streams_keep_their_own_ids(json_lines: Lines) -> None:
    log = logging.getLogger("walletdoctor")

    async def stream(stream_id: str) -> None:
        with bind_stream(stream_id):
            for step in range(3):
                log.info("step %d of %s", step, stream_id)
                await asyncio.sleep(0)

    await asyncio.gather(stream("a"), stream("b"))
    lines = [line for line in json_lines() if line["logger"] == "walletdoctor"]
    assert len(lines) == 6
    for line in lines:
        assert line["event"].endswith(" of " + line["stream_id"])


def test_keys_are_redacted_wherever_they_appear(json_lines: Lines) -> None:
    log = logging.getLogger("walletdoctor")
    log.info("auth with key %s", KEY)
    log.info("GET /v4/wallet/x/stream?api_key=%s&batch_size=10", "secret-value")
    get_logger("walletdoctor").info(
        "request", api_key="plain", headers={"Authorization": "Bearer abc", "X-Api-Key": KEY}, note=f"key={KEY}"
    )
    text = orjson.dumps(json_lines()).decode()
    assert KEY not in text and "secret-value" not in text and "plain" not in text and "abc" not in text
    first, second, third = json_lines()
    assert first["event"] == f"auth with key {REDACTED}"
    assert second["event"] == f"GET /v4/wallet/x/stream?api_key={REDACTED}&batch_size=10"
    assert third["api_key"] == REDACTED and third["headers"]["Authorization"] == REDACTED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"key {KEY}.", f"key {REDACTED}."),
        ("https://h/v0/tx?api-key=abc-123&limit=5", f"https://h/v0/tx?api-key={REDACTED}&limit=5"),
        ("{'api_key': 'abc'}", f"{{'api_key': '{REDACTED}'}}"),
        ('{"apiKey": "abc"}', f'{{"apiKey": "{REDACTED}"}}'),
        ("Authorization: Bearer eyJhbGciOi.x-y", f"Authorization: Bearer {REDACTED}"),
        ("wd_short is not a key", "wd_short is not a key"),
        ("wallet 3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2", "wallet 3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"),
    ],
)
def test_redact_text(raw: str, expected: str) -> None:
    assert redact_text(raw) == expected
    assert redact_text(expected) == expected, "redaction is idempotent"


def _app(handler: Callable[[web.Request], Any]) -> web.Application:
    app = web.Application()
    app.router.add_get("/", handler)
    return app
