"""``GET /v4/wallet/{address}/stream``: a wallet's trades as Server-Sent Events (DESIGN section 1).

A request without ``Last-Event-ID`` starts a stream (sharing a running fetch
of the same wallet and parameters when there is one). A reconnect with
``Last-Event-ID: <stream_id>:<seq>`` (the header browsers send by
themselves, or the ``last_event_id`` query parameter) continues that
stream after ``seq``:

- resumable: ``connected`` (``resumed: true``), then every event after ``seq``;
- the client already has the final event: HTTP 204, which tells an
  ``EventSource`` to stop reconnecting (WHATWG HTML 9.2.3);
- unknown, expired, or older than what is kept: a new stream id,
  ``connected`` (``resumed: false``), then ``error`` ``STREAM_EXPIRED``.
"""

from __future__ import annotations

import logging

from aiohttp import web

from walletdoctor.api.hardening import SECURITY_HEADERS
from walletdoctor.api.params import parse_stream_params
from walletdoctor.appkeys import FEED_HUB, WRITER_SETTINGS
from walletdoctor.errors import ErrorCode, InvalidRequest, StreamFailure, WalletDoctorError
from walletdoctor.observability import METRICS, bind_stream
from walletdoctor.security import stream_lease
from walletdoctor.sse.event import EventName, parse_event_id
from walletdoctor.sse.writer import StreamOutcome, write_stream
from walletdoctor.streams.hub import FeedHub, ResumeRefused
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.subscription import Subscription

__all__ = ["stream_wallet"]

log = logging.getLogger(__name__)


async def stream_wallet(request: web.Request) -> web.StreamResponse:
    """Stream the wallet's trades: ``connected``, ``progress``, ``trades``, ``heartbeat``,
    then ``complete`` or ``error``; or continue a stream after ``Last-Event-ID``.

    Invalid input is refused before the stream starts (HTTP 400, JSON body).
    """
    params = parse_stream_params(request.match_info["address"], request.query)
    resume_from = _last_event_id(request)
    app = request.app
    hub = app[FEED_HUB]
    if hub.closing:
        raise WalletDoctorError(ErrorCode.SHUTTING_DOWN, "the server is restarting; try again shortly")
    metrics = app[METRICS]
    # The lease is refused (429 TOO_MANY_STREAMS) before anything is sent.
    async with stream_lease(request):
        if resume_from is None:
            subscription = await hub.open(params)
        else:
            resumed = await hub.resume(*resume_from, wallet=params.wallet)
            if resumed is ResumeRefused.FINISHED:
                return web.Response(status=204)
            subscription = resumed if isinstance(resumed, Subscription) else _expired(hub, params)
        with bind_stream(subscription.stream_id, wallet=params.wallet):
            log.info(
                "stream start batch_size=%d order=%s resumed_from=%s",
                params.batch_size,
                params.order.value,
                subscription.position if subscription.resumed else None,
            )
            # A cancelled handler (the client left) never sees write_stream return.
            outcome = StreamOutcome.DISCONNECTED
            metrics.stream_started()
            try:
                response, outcome = await write_stream(
                    request, subscription, app[WRITER_SETTINGS], headers=SECURITY_HEADERS, metrics=metrics
                )
            finally:
                hub.close(subscription)
                metrics.stream_ended(outcome, subscription.elapsed_s)
                log.info("stream end outcome=%s after %.3f s", outcome.value, subscription.elapsed_s)
    return response


def _last_event_id(request: web.Request) -> tuple[str, int] | None:
    """``(stream_id, seq)`` from ``Last-Event-ID`` or ``last_event_id``, ``None`` when absent.

    Raises:
        InvalidRequest: present but not ``<stream_id>:<seq>``.
    """
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if not raw:
        return None
    parsed = parse_event_id(raw)
    if parsed is None:
        raise InvalidRequest(
            ErrorCode.INVALID_REQUEST, "Last-Event-ID must be an event id of this server: <stream_id>:<seq>", {"parameter": "Last-Event-ID"}
        )
    return parsed


def _expired(hub: FeedHub, params: StreamParams) -> Subscription:
    """A one-event stream that says plainly the stream asked for cannot be resumed."""
    subscription = hub.refusal(params)
    failure = StreamFailure(ErrorCode.STREAM_EXPIRED, "this stream can no longer be resumed; start a new stream")
    subscription.interrupt(subscription.final_event(EventName.ERROR, failure.to_json()))
    return subscription
