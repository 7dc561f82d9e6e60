"""``GET /v4/wallet/{address}/summary``: the ``complete`` event's summary as one JSON document.

Reads the same kind of feed as a stream (same fetch, extraction, prices and
cost basis; shared with a running stream of the same request, batch size
1,000), skipping to its final event, so the two can never disagree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import orjson
from aiohttp import web

from walletdoctor.api.params import parse_stream_params
from walletdoctor.appkeys import FEED_HUB, SETTINGS
from walletdoctor.config import MAX_BATCH_SIZE
from walletdoctor.errors import ErrorCode, StreamFailure, WalletDoctorError
from walletdoctor.sse.event import EventName

__all__ = ["wallet_summary"]

log = logging.getLogger(__name__)


async def wallet_summary(request: web.Request) -> web.Response:
    """``{"wallet", "trades_found", "duration", "summary"}``, or a JSON error.

    Takes the stream's query parameters (``since``, ``until``, ``order``);
    ``batch_size`` is ignored. Upstream failure: 503 ``UPSTREAM_UNAVAILABLE``.
    The request may take as long as the wallet's whole history takes to fetch
    (at most ``STREAM_TIMEOUT``: then 504 ``STREAM_TIMEOUT``).
    """
    params = parse_stream_params(request.match_info["address"], request.query)
    app = request.app
    hub = app[FEED_HUB]
    if hub.closing:
        raise WalletDoctorError(ErrorCode.SHUTTING_DOWN, "the server is restarting; try again shortly")
    subscription = await hub.open(dataclasses.replace(params, batch_size=MAX_BATCH_SIZE))
    try:
        async with asyncio.timeout(app[SETTINGS].stream_timeout_s):
            event = await subscription.next()
            while event is None or not event.is_final:
                event = await subscription.next()
    except TimeoutError:
        raise StreamFailure(ErrorCode.STREAM_TIMEOUT, "the wallet's history took too long to fetch") from None
    finally:
        hub.close(subscription)
    data = event.data()
    if event.name is EventName.ERROR:
        raise WalletDoctorError(ErrorCode(data["code"]), data["error"], data.get("details") or {})
    return web.json_response({"wallet": params.wallet, **data}, dumps=lambda value: orjson.dumps(value).decode())
