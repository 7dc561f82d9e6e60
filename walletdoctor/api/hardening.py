"""Security headers on every response, CORS with an explicit allow-list, and the request body limit.

Headers go on in ``on_response_prepare`` rather than in a middleware, so
that streaming responses, whose headers leave before the handler returns,
get them too.

Limits on a request (settings ``MAX_REQUEST_BYTES``, ``MAX_HEADER_BYTES``):

- the request line and each header line are capped by aiohttp's HTTP parser
  (``max_line_size``, ``max_field_size``, set by ``walletdoctor serve``); it
  answers 400 itself, before any application code runs;
- the body is capped by :func:`refuse_oversized_body` (413, called by the error middleware). No route reads a
  body, so without it an oversized one would go unnoticed: the request
  would be served, a stream started, as if the body were not there.
"""

from __future__ import annotations

from collections.abc import Iterable

import aiohttp_cors
from aiohttp import web

__all__ = ["SECURITY_HEADERS", "add_security_headers", "allow_origins", "refuse_oversized_body"]

#: OWASP Secure Headers Project recommendations for an API: no MIME sniffing,
#: never framed, no referrer leaked, nothing loaded by default.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-site",
}

#: Headers a browser client may send and read across origins (EventSource
#: sends Last-Event-ID on reconnects; X-Stream-ID names the stream).
_ALLOWED_HEADERS = ("Authorization", "X-API-Key", "Last-Event-ID", "Content-Type")
_EXPOSED_HEADERS = ("X-Stream-ID", "Retry-After")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: set :data:`SECURITY_HEADERS` where the handler set none."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def allow_origins(app: web.Application, origins: Iterable[str]) -> None:
    """Allow cross-origin GETs from exactly ``origins`` on every route registered so far.

    No origin, no CORS headers: browsers then refuse cross-origin reads. A
    wildcard is accepted here but refused in production by the settings.
    """
    origins = list(origins)
    if not origins:
        return
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False, expose_headers=_EXPOSED_HEADERS, allow_headers=_ALLOWED_HEADERS, allow_methods=["GET"]
    )
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        cors.add(route)


async def refuse_oversized_body(request: web.Request) -> web.Response | None:
    """A 413 response when the body is over the application's ``client_max_size``, else ``None``.

    Called by the error middleware before any handler runs (a middleware of
    its own would stay on the stack, and in memory, for every open stream).
    A declared ``Content-Length`` over the limit is refused unread; a chunked
    body is read up to the limit (aiohttp's :meth:`~aiohttp.web.BaseRequest.read`
    raises past it). The refusal ends the connection (``Connection: close``):
    aiohttp first reads and drops what is left of the body for at most its
    ``lingering_time`` (10 s), so that the client gets the 413 and not a
    reset (RFC 9112 section 9.6). The JSON body is the one of every error
    (DESIGN section 1).
    """
    limit = request.client_max_size
    too_large = request.content_length is not None and request.content_length > limit
    if not too_large and request.body_exists:
        try:
            await request.read()
        except web.HTTPRequestEntityTooLarge:
            too_large = True
    if not too_large:
        return None
    response = web.json_response(
        {
            "error": f"request body too large: at most {limit} bytes",
            "code": "PAYLOAD_TOO_LARGE",
            "retryable": False,
            "details": {"max_bytes": limit},
        },
        status=413,
    )
    response.force_close()
    return response
