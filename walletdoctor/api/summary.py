"""``GET /v4/wallet/{address}/summary``: the ``complete`` event's summary as one JSON document.

Runs the same pipeline as a stream (same fetch, extraction, prices and
cost basis), discarding the intermediate events, so the two can never
disagree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from aiohttp import web

from walletdoctor.api.params import parse_stream_params
from walletdoctor.api.stream import create_pipeline
from walletdoctor.appkeys import SETTINGS, STREAMS
from walletdoctor.config import MAX_BATCH_SIZE
from walletdoctor.errors import ErrorCode, StreamFailure, WalletDoctorError
from walletdoctor.streams.session import StreamSession

__all__ = ["wallet_summary"]

log = logging.getLogger(__name__)


async def wallet_summary(request: web.Request) -> web.Response:
    """``{"wallet", "trades_found", "duration", "summary"}``, or a JSON error.

    Takes the stream's query parameters (``since``, ``until``, ``order``);
    ``batch_size`` is ignored. Upstream failure: 503 ``UPSTREAM_UNAVAILABLE``.
    The request may take as long as the wallet's whole history takes to fetch.
    """
    params = parse_stream_params(request.match_info["address"], request.query)
    app = request.app
    if app[STREAMS].closing:
        raise WalletDoctorError(ErrorCode.SHUTTING_DOWN, "the server is restarting; try again shortly")
    session = StreamSession(dataclasses.replace(params, batch_size=MAX_BATCH_SIZE), queue_size=app[SETTINGS].stream_queue_size)
    pipeline = create_pipeline(app, session)
    task = asyncio.create_task(pipeline.run(), name=f"summary-pipeline:{session.stream_id}")
    try:
        async with asyncio.timeout(app[SETTINGS].stream_timeout_s):
            while not (await session.queue.get()).is_final:
                pass
    except TimeoutError:
        raise StreamFailure(ErrorCode.STREAM_TIMEOUT, "the wallet's history took too long to fetch") from None
    finally:
        task.cancel()
        await asyncio.wait([task])
    result = pipeline.result
    if isinstance(result, WalletDoctorError):
        raise result
    if result is None:
        raise StreamFailure(ErrorCode.INTERNAL_ERROR, "internal error")
    return web.json_response({"wallet": params.wallet, **result})
