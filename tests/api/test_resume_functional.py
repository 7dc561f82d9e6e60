"""Resume over real HTTP: a reconnect with Last-Event-ID continues the stream, no trade lost or repeated."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse

from tests.conftest import Emulator, ServerFactory, StreamRecord, read_stream


async def read_until(url: str, *, stop_after_trades: int, headers: dict[str, str] | None = None) -> StreamRecord:
    """Read a stream and hang up after the ``stop_after_trades``-th ``trades`` event."""
    events: list[Any] = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with aconnect_sse(client, "GET", url, headers=headers or {}) as source:
            async for event in source.aiter_sse():
                events.append(event)
                if sum(1 for e in events if e.event == "trades") >= stop_after_trades:
                    break
            return StreamRecord(source.response.status_code, source.response.headers, events)


def seqs(record: StreamRecord) -> list[int]:
    return [int(e.id.rsplit(":", 1)[1]) for e in record.events if e.event != "heartbeat"]


async def test_a_cut_stream_resumes_after_its_last_event_id_with_nothing_lost_or_repeated(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    wallet = emulator.synthetic("resume-me", 2500)
    base = await walletdoctor()
    url = f"{base}/v4/wallet/{wallet}/stream?batch_size=50"
    whole = await read_stream(url)

    first = await read_until(url, stop_after_trades=7)
    last_id = first.events[-1].id
    second = await read_stream(url, headers={"Last-Event-ID": last_id})

    assert second.status == 200
    connected = orjson.loads(second.events[0].data)
    assert second.events[0].event == "connected" and connected["resumed"] is True
    assert second.events[0].id == last_id, "connected repeats the position it resumes from"
    assert connected["stream_id"] == last_id.split(":")[0]
    assert seqs(second)[1] == seqs(first)[-1] + 1
    assert second.last.event == "complete"
    joined = first.trades() + second.trades()
    assert [t["signature"] for t in joined] == [t["signature"] for t in whole.trades()]
    assert orjson.loads(second.last.data)["trades_found"] == len(whole.trades())


async def test_resume_continues_a_fetch_that_stopped_when_its_client_left(
    emulator: Emulator, walletdoctor: ServerFactory
) -> None:
    """The last reader leaving cancels the fetch; the reconnect starts a new producer after the checkpoint."""
    wallet = emulator.synthetic("resume-later", 3000)
    base = await walletdoctor()
    url = f"{base}/v4/wallet/{wallet}/stream?batch_size=100"
    whole = await read_stream(url)
    emulator.settings.update({"enhanced_latency_s": 0.05})
    first = await read_until(url, stop_after_trades=3)
    await asyncio.sleep(0.5)  # the producer is cancelled and gone
    second = await read_stream(url, headers={"Last-Event-ID": first.events[-1].id})
    assert second.last.event == "complete"
    assert [t["signature"] for t in first.trades() + second.trades()] == [t["signature"] for t in whole.trades()]
    batches = [orjson.loads(e.data)["batch_num"] for e in first.named("trades") + second.named("trades")]
    assert batches == list(range(1, len(batches) + 1))


async def test_a_reconnect_after_the_final_event_gets_204(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("finished", 300)
    base = await walletdoctor()
    url = f"{base}/v4/wallet/{wallet}/stream"
    whole = await read_stream(url)
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers={"Last-Event-ID": whole.last.id})
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize("last_id", ["0b0e9f9a-6f2a-4a55-9b9b-0e5f0b8c9d11:5", "{stream}:999999"])
async def test_an_unknown_or_impossible_id_is_said_plainly(
    emulator: Emulator, walletdoctor: ServerFactory, last_id: str
) -> None:
    wallet = emulator.synthetic("unknown-id", 200)
    base = await walletdoctor()
    url = f"{base}/v4/wallet/{wallet}/stream"
    stream_id = (await read_until(url, stop_after_trades=1)).events[0].id.split(":")[0]
    record = await read_stream(url, headers={"Last-Event-ID": last_id.format(stream=stream_id)})
    assert [e.event for e in record.events] == ["connected", "error"]
    assert orjson.loads(record.events[0].data)["resumed"] is False
    error = orjson.loads(record.last.data)
    assert error["code"] == "STREAM_EXPIRED" and error["retryable"] is False


async def test_a_stream_of_another_wallet_is_not_resumed(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    one, other = emulator.synthetic("wallet-one", 300), emulator.synthetic("wallet-two", 300)
    base = await walletdoctor()
    first = await read_until(f"{base}/v4/wallet/{one}/stream?batch_size=10", stop_after_trades=1)
    record = await read_stream(f"{base}/v4/wallet/{other}/stream", headers={"Last-Event-ID": first.events[-1].id})
    assert orjson.loads(record.last.data)["code"] == "STREAM_EXPIRED"


async def test_a_malformed_last_event_id_is_a_400(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("malformed-id", 10)
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/v4/wallet/{wallet}/stream", headers={"Last-Event-ID": "nonsense"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


async def test_the_query_parameter_works_like_the_header(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("query-resume", 800)
    base = await walletdoctor()
    url = f"{base}/v4/wallet/{wallet}/stream?batch_size=50"
    whole = await read_stream(url)
    first = await read_until(url, stop_after_trades=2)
    second = await read_stream(f"{url}&last_event_id={first.events[-1].id}")
    assert [t["signature"] for t in first.trades() + second.trades()] == [t["signature"] for t in whole.trades()]
