"""``GET /v4/wallet/{address}/stream``: a wallet's trades as Server-Sent Events (DESIGN section 1)."""

from __future__ import annotations

import logging

from aiohttp import web

from walletdoctor.api.params import parse_stream_params
from walletdoctor.appkeys import SETTINGS, STREAMS, UPSTREAM_SERVICES, WRITER_SETTINGS
from walletdoctor.errors import ErrorCode, WalletDoctorError
from walletdoctor.observability import METRICS, bind_stream
from walletdoctor.security import stream_lease
from walletdoctor.sse.writer import StreamOutcome, write_stream
from walletdoctor.streams.pipeline import TradePipeline
from walletdoctor.streams.session import StreamSession

__all__ = ["create_pipeline", "stream_wallet"]

log = logging.getLogger(__name__)


def create_pipeline(app: web.Application, session: StreamSession) -> TradePipeline:
    """The pipeline of ``session`` over the process's shared upstream services."""
    services = app[UPSTREAM_SERVICES]
    return TradePipeline(session, services.fetcher, services.tokens, services.prices)


async def stream_wallet(request: web.Request) -> web.StreamResponse:
    """Stream the wallet's trades: ``connected``, ``progress``, ``trades``, ``heartbeat``,
    then ``complete`` or ``error``.

    Invalid input is refused before the stream starts (HTTP 400, JSON body).
    """
    params = parse_stream_params(request.match_info["address"], request.query)
    app = request.app
    registry = app[STREAMS]
    if registry.closing:
        raise WalletDoctorError(ErrorCode.SHUTTING_DOWN, "the server is restarting; try again shortly")
    # The lease is refused (429 TOO_MANY_STREAMS) before anything is sent.
    metrics = app[METRICS]
    async with stream_lease(request):
        session = StreamSession(params, queue_size=app[SETTINGS].stream_queue_size)
        with bind_stream(session.stream_id, wallet=params.wallet):
            pipeline = create_pipeline(app, session)
            log.info("stream start batch_size=%d order=%s", params.batch_size, params.order.value)
            # A cancelled handler (the client left) never sees write_stream return.
            outcome = StreamOutcome.DISCONNECTED
            registry.add(session)
            metrics.stream_started()
            try:
                response, outcome = await write_stream(
                    request, session, pipeline.run(), app[WRITER_SETTINGS], metrics=metrics
                )
            finally:
                registry.discard(session)
                metrics.stream_ended(outcome, session.elapsed_s)
                log.info("stream end outcome=%s after %.3f s", outcome.value, session.elapsed_s)
    return response
