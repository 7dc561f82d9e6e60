"""The live page at ``/``: a wallet's trades arriving in a table and its realized P&L as a chart.

The page is static files of our own shipped as package data:
``index.html``, ``style.css``, and three ES modules (``app.js`` the stream
and the page, ``chart.js`` the SVG P&L chart, ``format.js`` number and time
formatting). No third-party front-end code, no build step. It opens the stream with the browser's own
``EventSource`` on the same origin, so its Content-Security-Policy can be
strict: scripts, styles, images and connections from the page's own origin
only, no inline script or style, no ``eval``, Trusted Types required for
DOM sinks, never framed.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

__all__ = ["PAGE_CSP", "STATIC_DIR", "STATIC_FILES", "add_page_routes", "live_page", "static_file"]

#: The page's files: index.html and what :data:`STATIC_FILES` lists.
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: What ``/static/`` serves, with its media type: these files and nothing else
#: (no directory listing, no path to resolve against the file system).
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "format.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

#: The page's Content-Security-Policy (CSP Level 3 and Trusted Types, W3C).
#: ``'self'`` is scheme, host and port of the page, which covers the stream
#: on the same server; ``form-action 'none'`` because the form is handled by
#: the script and never submitted.
PAGE_CSP = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self'; "
    "img-src 'self'; "
    "connect-src 'self'; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; "
    "trusted-types 'none'"
)


async def live_page(request: web.Request) -> web.FileResponse:
    """``GET /``: the live page, with :data:`PAGE_CSP` (the API's stricter default does not apply)."""
    return web.FileResponse(
        STATIC_DIR / "index.html",
        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"},
    )


async def static_file(request: web.Request) -> web.FileResponse:
    """``GET /static/{filename}``: one of :data:`STATIC_FILES`.

    Raises:
        web.HTTPNotFound: any other name (answered as JSON by the error middleware).
    """
    name = request.match_info["filename"]
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    # no-cache: browsers revalidate (ETag) so that a new release is picked up at once.
    return web.FileResponse(STATIC_DIR / name, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})


def add_page_routes(app: web.Application) -> None:
    """Register ``GET /`` and the page's files under ``/static/``."""
    app.router.add_get("/", live_page, name="live_page")
    app.router.add_get("/static/{filename}", static_file, name="static")
