"""One place that turns failures into JSON error responses (no internals in any body)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from walletdoctor.api.hardening import refuse_oversized_body
from walletdoctor.errors import ErrorCode, WalletDoctorError
from walletdoctor.observability.metrics import CLIENT_CLOSED, METRICS

__all__ = ["error_response", "response_middleware"]

log = logging.getLogger(__name__)

_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def error_response(error: WalletDoctorError) -> web.Response:
    """The HTTP response for ``error``: its status and ``{"error", "code", "retryable", "details"}``."""
    return web.json_response(error.to_json(), status=error.code.http_status)


@web.middleware
async def response_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: every request's final answer.

    Refuses an oversized body (413) before the handler runs; answers
    WalletDoctor errors and aiohttp's HTTP errors as JSON; logs the
    unexpected (and answers ``INTERNAL_ERROR``); counts the final status
    (:meth:`~walletdoctor.observability.Metrics.http_response`; 499 when the
    client left first). One middleware rather than one per concern: each
    stays on the stack, and in memory, for as long as a stream is open.
    """
    status = 500
    try:
        response = await refuse_oversized_body(request) or await _answer(request, handler)
        status = response.status
        return response
    except web.HTTPException as exc:  # a redirect, passed on
        status = exc.status
        raise
    except (asyncio.CancelledError, ConnectionResetError):
        # The client left: aiohttp cancels the handler (handler_cancellation=True)
        # or a write fails (aiohttp's ClientConnectionResetError); it ends
        # the connection quietly, nothing to answer.
        status = CLIENT_CLOSED
        raise
    finally:
        metrics = request.config_dict.get(METRICS)
        if metrics is not None:
            metrics.http_response(request, status)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except WalletDoctorError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _STATUS_CODES.get(exc.status, "HTTP_ERROR")
        return web.json_response(
            {"error": exc.reason, "code": code, "retryable": False, "details": {}},
            status=exc.status,
            headers={k: v for k, v in exc.headers.items() if k.lower() == "allow"},
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(WalletDoctorError(ErrorCode.INTERNAL_ERROR, "internal error"))
