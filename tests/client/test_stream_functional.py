"""WalletStream over real loopback HTTP against a server of the resume contract that cuts,
stalls, shuts down and refuses on cue (tests/client/resumable_server.py)."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from tests.client.resumable_server import STREAM_ID, WALLET, Plan, ResumableServer
from walletdoctor.client import (
    Backoff,
    BadRequest,
    CompleteEvent,
    ConnectedEvent,
    HeartbeatEvent,
    ProgressEvent,
    ProtocolError,
    RateLimited,
    ReconnectsExhausted,
    RequestRefused,
    StreamEnded,
    StreamEvent,
    StreamExpired,
    StreamFailed,
    TradesEvent,
    Unauthorized,
    WalletStream,
)
from walletdoctor.client.errors import ConnectionLost, ConnectionTimedOut, ServerShuttingDown, StreamStalled
from walletdoctor.errors import ErrorCode

Serve = Callable[..., Awaitable[tuple[ResumableServer, str]]]


@pytest.fixture
def serve(aiohttp_server: Any) -> Serve:
    """Start a ResumableServer with the given plans; returns it and its base URL."""

    async def start(*plans: Plan, **options: Any) -> tuple[ResumableServer, str]:
        server = ResumableServer(plans=list(plans), **options)
        running = await aiohttp_server(server.app())
        return server, str(running.make_url("")).rstrip("/")

    return start


class Sleeps:
    """An injected ``sleep`` that records the delays asked and does not wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def stream(url: str, sleeps: Sleeps | None = None, **options: Any) -> WalletStream:
    options.setdefault("backoff", Backoff(jitter=0))
    return WalletStream(url, WALLET, sleep=sleeps or Sleeps(), **options)


async def read_all(wallet_stream: WalletStream) -> list[StreamEvent]:
    async with wallet_stream:
        return [event async for event in wallet_stream]


def signatures(events: list[StreamEvent]) -> list[str]:
    return [t.signature for e in events if isinstance(e, TradesEvent) for t in e.trades]


async def test_uninterrupted_stream_yields_typed_events_in_order(serve: Serve) -> None:
    server, url = await serve()
    wallet_stream = stream(url, api_key="wd_key", batch_size=3, order="asc")
    events = await read_all(wallet_stream)

    assert [type(e) for e in events] == [ConnectedEvent, ProgressEvent] + [TradesEvent] * 6 + [CompleteEvent]
    connected = events[0]
    assert isinstance(connected, ConnectedEvent)
    assert (connected.stream_id, connected.wallet, connected.resumed) == (STREAM_ID, WALLET, False)
    assert connected.id == f"{STREAM_ID}:1"
    assert signatures(events) == server.signatures()
    trade = events[2].trades[0]  # type: ignore[union-attr]
    assert trade.price == Decimal("0.0000000391863883788551605")
    complete = events[-1]
    assert isinstance(complete, CompleteEvent) and wallet_stream.complete is complete
    assert complete.summary.trades_found == 18 and complete.summary.tokens[0].realized_pnl_usd == Decimal("-1.5")
    assert wallet_stream.reconnects == [] and wallet_stream.requests == 1
    assert wallet_stream.last_event_id == f"{STREAM_ID}:{server.final_seq}"

    seen = server.requests[0]
    assert seen.last_event_id is None
    assert seen.headers["Authorization"] == "Bearer wd_key"
    assert seen.headers["Accept"] == "text/event-stream"
    assert seen.query == {"batch_size": "3", "order": "asc"}


async def test_no_trade_lost_or_repeated_across_cuts_shutdowns_and_replays(serve: Serve) -> None:
    server, url = await serve(
        Plan(cut_after=2),  # progress (seq 2), trades#1 (3), half of trades#2, a cut
        Plan(end_after=1),  # resumed: trades#2 (4), then the body ends without a final event
        Plan(shutdown_after=1),  # trades#3 (5), then SHUTTING_DOWN repeating id 5
        Plan(replay_from=2, cut_after=4),  # seq 3..5 again (duplicates), trades#4 (6), a cut
        Plan(cut_after=0),  # a cut before any new event
        Plan(timeout_after=1),  # trades#5 (7), then STREAM_TIMEOUT repeating id 7
    )
    wallet_stream = stream(url)
    events = await read_all(wallet_stream)

    assert signatures(events) == server.signatures()
    assert isinstance(events[-1], CompleteEvent)
    # Every reconnect sent the id of the last event delivered before it.
    sent = [r.last_event_id for r in server.requests]
    assert sent == [None] + [f"{STREAM_ID}:{seq}" for seq in (3, 4, 5, 6, 6, 7)]
    resumed = [e for e in events if isinstance(e, ConnectedEvent)][1:]
    assert len(resumed) == 6 and all(e.resumed and e.stream_id == STREAM_ID for e in resumed)
    assert wallet_stream.duplicates_dropped == 3
    causes = [type(c) for r in wallet_stream.reconnects for c in r.causes]
    assert causes == [
        ConnectionLost, ConnectionLost, ServerShuttingDown, ConnectionLost, ConnectionLost, ConnectionTimedOut
    ]
    assert all(r.duration_s is not None and r.duration_s >= 0 for r in wallet_stream.reconnects)


async def test_backoff_schedule_doubles_caps_and_resets_on_progress(serve: Serve) -> None:
    refused = Plan(status=503, code="SHUTTING_DOWN")
    server, url = await serve(refused, refused, refused, refused, refused, Plan(cut_after=3), refused)
    sleeps = Sleeps()
    events = await read_all(stream(url, sleeps))

    # Five failed attempts: 1, 2, 4, 5 (cap), 5; progress then resets the schedule.
    # The second connection's ``retry: 100`` hint (0.1 s) is below every step.
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 1.0, 2.0]
    assert isinstance(events[-1], CompleteEvent)
    assert signatures(events) == server.signatures()


async def test_server_retry_hint_is_a_floor_under_the_schedule(serve: Serve) -> None:
    refused = Plan(status=503)
    _, url = await serve(Plan(cut_after=2, retry_ms=2500), refused, refused)
    sleeps = Sleeps()
    await read_all(stream(url, sleeps))
    assert sleeps.delays == [2.5, 2.5, 4.0]


async def test_jittered_delays_stay_within_half_to_full_step(serve: Serve) -> None:
    refused = Plan(status=502)
    _, url = await serve(*[refused] * 6)
    sleeps = Sleeps()
    await read_all(stream(url, sleeps, backoff=Backoff(), rng=random.Random(7)))
    expected_rng = random.Random(7)
    steps = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert sleeps.delays == [step * (1 - 0.5 * expected_rng.random()) for step in steps]
    assert all(step / 2 <= delay <= step for step, delay in zip(steps, sleeps.delays, strict=True))


async def test_rate_limit_on_a_reconnect_waits_retry_after_and_resumes(serve: Serve) -> None:
    server, url = await serve(Plan(cut_after=2), Plan(status=429, code="TOO_MANY_STREAMS", retry_after=3))
    sleeps = Sleeps()
    events = await read_all(stream(url, sleeps))
    assert sleeps.delays == [1.0, 3.0]
    assert signatures(events) == server.signatures()


async def test_reconnects_exhausted_raises_with_the_last_cause(serve: Serve) -> None:
    server, url = await serve(Plan(cut_after=3), *[Plan(status=503, retry_after=1)] * 5)
    sleeps = Sleeps()
    wallet_stream = stream(url, sleeps, backoff=Backoff(jitter=0, max_attempts=3))
    delivered: list[StreamEvent] = []
    with pytest.raises(ReconnectsExhausted) as raised:
        async with wallet_stream:
            async for event in wallet_stream:
                delivered.append(event)
    assert raised.value.attempts == 3 and len(sleeps.delays) == 3
    assert raised.value.last_event_id == f"{STREAM_ID}:4"
    cause = raised.value.__cause__
    assert isinstance(cause, RequestRefused) and cause.status == 503 and cause.retry_after_s == 1
    assert len(server.requests) == 4
    assert len(signatures(delivered)) == 6


async def test_a_stall_is_detected_and_the_stream_resumed(serve: Serve) -> None:
    server, url = await serve(Plan(stall_after=2), Plan(header_delay_s=5))
    wallet_stream = stream(url, stall_timeout_s=0.3, connect_timeout_s=0.3)
    events = await read_all(wallet_stream)
    assert signatures(events) == server.signatures()
    (reconnect,) = wallet_stream.reconnects
    assert [type(c) for c in reconnect.causes] == [StreamStalled, ConnectionLost]
    assert "no response within" in str(reconnect.causes[1])
    assert [r.last_event_id for r in server.requests] == [None, f"{STREAM_ID}:3", f"{STREAM_ID}:3"]


async def test_heartbeats_keep_a_slow_stream_alive_and_are_delivered(aiohttp_server: Any) -> None:
    """Heartbeats count as data for stall detection and carry no id."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'id: s:1\nevent: connected\ndata: {"stream_id":"s","wallet":"w","timestamp":1,"resumed":false}\n\n')
        for _ in range(4):
            await asyncio.sleep(0.1)
            await response.write(b'event: heartbeat\ndata: {"timestamp":2.5}\n\n')
        await response.write(b'id: s:2\nevent: complete\ndata: {"trades_found":0,"duration":0.5,"summary":{"trades_found":0}}\n\n')
        return response

    app = web.Application()
    app.router.add_get("/v4/wallet/{address}/stream", handler)
    server = await aiohttp_server(app)
    wallet_stream = stream(str(server.make_url("")), stall_timeout_s=0.3)
    events = await read_all(wallet_stream)
    assert [type(e) for e in events] == [ConnectedEvent] + [HeartbeatEvent] * 4 + [CompleteEvent]
    assert wallet_stream.reconnects == [] and wallet_stream.last_event_id == "s:2"


@pytest.mark.parametrize(
    ("status", "code", "exception"),
    [(400, "INVALID_ADDRESS", BadRequest), (401, "UNAUTHORIZED", Unauthorized), (404, "NOT_FOUND", RequestRefused)],
)
async def test_refusals_raise_at_once(serve: Serve, status: int, code: str, exception: type[Exception]) -> None:
    server, url = await serve(Plan(status=status, code=code))
    with pytest.raises(exception) as raised:
        await read_all(stream(url))
    assert type(raised.value) is exception
    assert raised.value.status == status and raised.value.code == code  # type: ignore[attr-defined]
    assert len(server.requests) == 1


async def test_rate_limit_on_the_first_request_raises_with_retry_after(serve: Serve) -> None:
    server, url = await serve(Plan(status=429, code="RATE_LIMIT", retry_after=7))
    with pytest.raises(RateLimited) as raised:
        await read_all(stream(url))
    assert raised.value.retry_after_s == 7 and raised.value.code is ErrorCode.RATE_LIMIT
    assert raised.value.retryable and len(server.requests) == 1


async def test_a_refusal_during_resume_carries_the_position(serve: Serve) -> None:
    _, url = await serve(Plan(cut_after=3), Plan(status=401, code="UNAUTHORIZED"))
    with pytest.raises(Unauthorized) as raised:
        await read_all(stream(url))
    assert raised.value.last_event_id == f"{STREAM_ID}:4"


async def test_upstream_unavailable_ends_the_stream_without_reconnecting(serve: Serve) -> None:
    server, url = await serve(Plan(error_after=(2, "UPSTREAM_UNAVAILABLE", True)))
    with pytest.raises(StreamFailed) as raised:
        await read_all(stream(url))
    assert type(raised.value) is StreamFailed
    assert raised.value.code is ErrorCode.UPSTREAM_UNAVAILABLE and raised.value.retryable
    assert raised.value.last_event_id == f"{STREAM_ID}:3"
    assert len(server.requests) == 1


@pytest.mark.parametrize("code", ["STREAM_TIMEOUT", "SHUTTING_DOWN"])
async def test_a_resumable_code_with_a_new_id_ends_the_stream(serve: Serve, code: str) -> None:
    """Only an error repeating the last delivered id ends just its connection; one with a
    new id is the stream's final event, and a reconnect would get 204."""
    server, url = await serve(Plan(error_after=(1, code, True)))
    with pytest.raises(StreamFailed) as raised:
        await read_all(stream(url))
    assert raised.value.code == code and raised.value.retryable
    assert len(server.requests) == 1


async def test_an_expired_position_raises_stream_expired(serve: Serve) -> None:
    _, url = await serve(Plan(cut_after=3), Plan(expire=True))
    wallet_stream = stream(url)
    delivered: list[StreamEvent] = []
    with pytest.raises(StreamExpired) as raised:
        async with wallet_stream:
            async for event in wallet_stream:
                delivered.append(event)
    assert raised.value.code is ErrorCode.STREAM_EXPIRED and not raised.value.retryable
    assert raised.value.last_event_id == f"{STREAM_ID}:4"
    assert not any(isinstance(e, ConnectedEvent) and e.stream_id != STREAM_ID for e in delivered)


async def test_a_fresh_stream_in_answer_to_a_resume_is_never_taken_for_one(serve: Serve) -> None:
    _, url = await serve(Plan(cut_after=3), Plan(fresh_restart=True))
    wallet_stream = stream(url)
    delivered: list[StreamEvent] = []
    with pytest.raises(StreamExpired):
        async with wallet_stream:
            async for event in wallet_stream:
                delivered.append(event)
    assert len(signatures(delivered)) == 6, "no trade of the restarted stream was delivered"


async def test_no_content_to_a_reconnect_raises_stream_ended(serve: Serve) -> None:
    _, url = await serve(Plan(cut_after=3), Plan(status=204))
    with pytest.raises(StreamEnded) as raised:
        await read_all(stream(url))
    assert raised.value.last_event_id == f"{STREAM_ID}:4"


async def test_resuming_from_a_given_id_asks_for_it(serve: Serve) -> None:
    server, url = await serve()
    events = await read_all(stream(url, last_event_id=f"{STREAM_ID}:6"))
    assert server.requests[0].last_event_id == f"{STREAM_ID}:6"
    assert isinstance(events[0], ConnectedEvent) and events[0].resumed
    assert signatures(events) == server.signatures()[12:]


async def test_a_wrong_content_type_is_a_protocol_error(serve: Serve) -> None:
    server, url = await serve(Plan(content_type="text/html"))
    with pytest.raises(ProtocolError):
        await read_all(stream(url))
    assert len(server.requests) == 1


async def test_leaving_early_closes_the_connection(serve: Serve) -> None:
    server, url = await serve(Plan(stall_after=3))
    wallet_stream = stream(url)
    async with wallet_stream:
        async for event in wallet_stream:
            if isinstance(event, TradesEvent):
                break
    assert wallet_stream.reconnects == [] and len(server.requests) == 1


async def test_iterating_without_a_context_manager_leaks_no_session(serve: Serve) -> None:
    """filterwarnings=error turns aiohttp's "Unclosed client session" into a failure."""
    _, url = await serve()
    wallet_stream = stream(url)
    events = [event async for event in wallet_stream]
    assert isinstance(events[-1], CompleteEvent)
    del wallet_stream
    gc.collect()
