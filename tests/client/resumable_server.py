"""A small aiohttp server that speaks the stream resume contract over a fixed list of events,
and misbehaves on cue: the counterpart of ``walletdoctor.client`` in its functional tests.

The contract (issue 5): ids ``<stream_id>:<seq>``; a request with
``Last-Event-ID`` gets a ``connected`` (``resumed`` true, its id repeating the
one sent) and every event after it; an unknown id gets ``connected``
(``resumed`` false) and ``error`` STREAM_EXPIRED; an id at or past the final
event gets HTTP 204; ``error`` SHUTTING_DOWN repeats the last delivered id.

Each request consumes the next :class:`Plan` (the default plan serves the
stream to its end); the plans say where to cut, stall, shut down, refuse.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

__all__ = ["STREAM_ID", "WALLET", "Plan", "ResumableServer", "SeenRequest", "make_trade"]

STREAM_ID = "0f5e2c1a-6a0e-4d8e-9c52-5a4b7e1f3d20"
WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"


def make_trade(number: int) -> dict[str, Any]:
    """A trade object in the wire's shape; its signature names ``number``."""
    return {
        "signature": f"sig{number:05d}",
        "slot": 349_000_000 + number,
        "timestamp": 1_751_000_000 + number,
        "source": "RAYDIUM",
        "side": "sell" if number % 2 else "buy",
        "token_in": "lub" if number % 2 else "SOL",
        "token_out": "SOL" if number % 2 else "lub",
        "token_in_mint": "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon",
        "token_out_mint": "So11111111111111111111111111111111111111112",
        "amount_in": "1986656.546333",
        "amount_out": "0.077849895",
        "price": "0.0000000391863883788551605",
        "value_usd": None,
        "fee_sol": "0.020783498",
        "pnl_usd": None,
        "pnl_sol": None,
    }


@dataclass
class Plan:
    """What one request gets (counts are events after the resume point, ``connected`` excluded).

    Attributes:
        status: answer this HTTP status with a JSON error body instead of a stream.
        code / retry_after: that body's ``code`` and the ``Retry-After`` header.
        content_type: the stream's content type.
        header_delay_s: wait this long before answering at all.
        cut_after: send that many events, then half of the next frame, then drop the connection.
        end_after: send that many events, then end the body normally (no final event).
        stall_after: send that many events, then stay silent with the connection open.
        shutdown_after: send that many events, then ``error`` SHUTTING_DOWN repeating the last id, and end.
        timeout_after: likewise with ``error`` STREAM_TIMEOUT (this connection's maximum duration).
        error_after: send that many events, then this final ``error`` (code, retryable) and end.
        replay_from: on a resume, replay from this seq instead of the one asked (duplicates).
        expire: answer a resume as an unknown id (``connected`` resumed false + STREAM_EXPIRED).
        fresh_restart: answer a resume with a fresh stream (resumed false) and no error.
        retry_ms: the ``retry:`` hint sent first.
    """

    status: int | None = None
    code: str = ""
    retry_after: int | None = None
    content_type: str = "text/event-stream"
    header_delay_s: float = 0.0
    cut_after: int | None = None
    end_after: int | None = None
    stall_after: int | None = None
    shutdown_after: int | None = None
    timeout_after: int | None = None
    error_after: tuple[int, str, bool] | None = None
    replay_from: int | None = None
    expire: bool = False
    fresh_restart: bool = False
    retry_ms: int = 100


@dataclass
class SeenRequest:
    """What the server saw of one request."""

    last_event_id: str | None
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class ResumableServer:
    """The fixed stream: ``connected`` (seq 1), ``progress`` (2), ``batches`` ``trades`` events
    of ``batch_size`` trades (3 ...), ``complete`` (last)."""

    batches: int = 6
    batch_size: int = 3
    plans: list[Plan] = field(default_factory=list)
    requests: list[SeenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = [
            ("progress", {"step": "fetching", "message": "scanned 10", "percentage": None, "pages_fetched": 1,
                          "transactions_scanned": 10, "trades_found": 0}),
        ]
        total = self.batches * self.batch_size
        for batch in range(self.batches):
            trades = [make_trade(batch * self.batch_size + i) for i in range(self.batch_size)]
            self.events.append(
                ("trades", {"trades": trades, "batch_num": batch + 1, "total_yielded": (batch + 1) * self.batch_size,
                            "has_more": batch + 1 < self.batches})
            )
        self.events.append(
            ("complete", {"trades_found": total, "duration": 1.5,
                          "summary": {"trades_found": total, "buys": total // 2, "sells": total - total // 2,
                                      "swaps": 0, "tokens_traded": 1, "transactions_scanned": 10,
                                      "tokens": [{"mint": "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon",
                                                  "symbol": "lub", "realized_pnl_usd": "-1.5"}]}})
        )

    @property
    def final_seq(self) -> int:
        """The seq of ``complete``."""
        return len(self.events) + 1

    def signatures(self) -> list[str]:
        """Every trade's signature, in stream order."""
        return [t["signature"] for name, data in self.events if name == "trades" for t in data["trades"]]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v4/wallet/{address}/stream", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        plan = self.plans.pop(0) if self.plans else Plan()
        last_event_id = request.headers.get("Last-Event-ID")
        self.requests.append(SeenRequest(last_event_id, dict(request.headers), dict(request.query)))
        if plan.header_delay_s:
            await asyncio.sleep(plan.header_delay_s)
        if plan.status is not None:
            headers = {} if plan.retry_after is None else {"Retry-After": str(plan.retry_after)}
            body = {"error": f"refused with {plan.status}", "code": plan.code, "retryable": plan.status >= 429,
                    "details": {"parameter": "address"} if plan.status == 400 else {}}
            return web.json_response(body, status=plan.status, headers=headers)
        resumed_at = 1
        if last_event_id is not None:
            stream_id, _, seq = last_event_id.rpartition(":")
            if plan.expire or plan.fresh_restart or stream_id != STREAM_ID or not seq.isdigit():
                return await self._fresh(request, plan)
            if int(seq) >= self.final_seq:
                return web.Response(status=204)
            resumed_at = int(seq) if plan.replay_from is None else plan.replay_from
        response = web.StreamResponse(headers={"Content-Type": plan.content_type, "Cache-Control": "no-cache"})
        await response.prepare(request)
        connected_id = last_event_id or f"{STREAM_ID}:1"
        await response.write(
            b"retry: %d\n" % plan.retry_ms
            + _frame("connected", {"stream_id": STREAM_ID, "wallet": WALLET, "timestamp": 1.0,
                                   "resumed": last_event_id is not None}, connected_id)
        )
        last_sent = last_event_id or connected_id
        after = [(number, event) for number, event in enumerate(self.events, start=2) if number > resumed_at]
        for count, (number, (name, data)) in enumerate(after):
            frame = _frame(name, data, f"{STREAM_ID}:{number}")
            if count == plan.cut_after:
                await response.write(frame[: len(frame) // 2])
                await asyncio.sleep(0.05)  # let the half frame reach the client before the cut
                assert request.transport is not None
                request.transport.close()
                return response
            if count == plan.end_after:
                break
            if count == plan.stall_after:
                await asyncio.sleep(3600)
            if count == plan.shutdown_after:
                await response.write(_frame("error", _error("SHUTTING_DOWN", True), last_sent))
                break
            if count == plan.timeout_after:
                await response.write(_frame("error", _error("STREAM_TIMEOUT", True), last_sent))
                break
            if plan.error_after is not None and count == plan.error_after[0]:
                _, code, retryable = plan.error_after
                await response.write(_frame("error", _error(code, retryable), f"{STREAM_ID}:{number}"))
                break
            await response.write(frame)
            last_sent = f"{STREAM_ID}:{number}"
        await response.write_eof()
        return response

    async def _fresh(self, request: web.Request, plan: Plan) -> web.StreamResponse:
        """A new stream instead of a resume: STREAM_EXPIRED, or (``fresh_restart``) the events again."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        fresh = "a-fresh-stream"
        await response.write(
            _frame("connected", {"stream_id": fresh, "wallet": WALLET, "timestamp": 2.0, "resumed": False},
                   f"{fresh}:1")
        )
        if plan.fresh_restart:
            for seq, (name, data) in enumerate(self.events, start=2):
                await response.write(_frame(name, data, f"{fresh}:{seq}"))
        else:
            await response.write(_frame("error", _error("STREAM_EXPIRED", False), f"{fresh}:2"))
        await response.write_eof()
        return response


def _error(code: str, retryable: bool) -> dict[str, Any]:
    return {"error": f"{code.lower().replace('_', ' ')}", "code": code, "retryable": retryable, "details": {}}


def _frame(name: str, data: dict[str, Any], event_id: str) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), name.encode(), orjson.dumps(data))
