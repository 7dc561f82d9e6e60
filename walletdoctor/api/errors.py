"""One place that turns failures into JSON error responses (no internals in any body)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from walletdoctor.errors import ErrorCode, WalletDoctorError

__all__ = ["error_middleware", "error_response"]

log = logging.getLogger(__name__)

_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def error_response(error: WalletDoctorError) -> web.Response:
    """The HTTP response for ``error``: its status and ``{"error", "code", "retryable", "details"}``."""
    return web.json_response(error.to_json(), status=error.code.http_status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer WalletDoctor errors and aiohttp's HTTP errors as JSON; log the unexpected."""
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
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(WalletDoctorError(ErrorCode.INTERNAL_ERROR, "internal error"))
