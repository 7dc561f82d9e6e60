"""``GET /`` and ``/static/`` over HTTP: the page's CSP, its files, their media types."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerFactory
from walletdoctor.web.page import PAGE_CSP, STATIC_DIR


async def test_the_page_has_its_own_strict_csp(walletdoctor: ServerFactory) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{base}/")
        api = await client.get(f"{base}/health")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (STATIC_DIR / "index.html").read_text()
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    # The API keeps the stricter default: nothing may load from its responses.
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("app.js", "text/javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")],
)
async def test_static_files(walletdoctor: ServerFactory, name: str, media_type: str) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/static/{name}")
        again = await client.get(f"{base}/static/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.content == (STATIC_DIR / name).read_bytes()
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/static/index.html", "/static/missing.js", "/static/..%2Fpage.py", "/static/"])
async def test_nothing_else_is_served_from_static(walletdoctor: ServerFactory, path: str) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        response = await client.get(base + path)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
