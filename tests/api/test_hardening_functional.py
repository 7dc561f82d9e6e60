"""Security headers, CORS allow-list and request limits on the running app."""

from __future__ import annotations

import httpx

from tests.conftest import REAL_WALLET, Emulator, ServerFactory


async def test_security_headers_on_errors_and_streams(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    wallet = emulator.synthetic("headers", 10)
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        for url in (f"{base}/v4/wallet/bad/stream", f"{base}/v4/wallet/{wallet}/stream", f"{base}/nowhere"):
            response = await client.get(url)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"


async def test_cors_allows_only_listed_origins(emulator: Emulator, walletdoctor: ServerFactory) -> None:
    base = await walletdoctor(allowed_origins="https://app.example")
    url = f"{base}/v4/wallet/{REAL_WALLET}/stream?batch_size=0"
    async with httpx.AsyncClient() as client:
        allowed = await client.get(url, headers={"Origin": "https://app.example"})
        other = await client.get(url, headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            url,
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


async def test_unknown_routes_and_methods_are_json(walletdoctor: ServerFactory) -> None:
    base = await walletdoctor()
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{base}/v3/wallet/x")
        wrong_method = await client.post(f"{base}/v4/wallet/{REAL_WALLET}/stream", content=b"{}")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "internal" not in missing.text.lower()
