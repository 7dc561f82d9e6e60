"""The error middleware: every failure is a JSON body of the contract, with no internal detail."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from walletdoctor.api.errors import response_middleware
from walletdoctor.errors import ErrorCode, InvalidRequest

SECRET_DETAIL = "connection to redis://:hunter2@10.0.0.5 failed in /srv/walletdoctor/app.py"


async def _crash(request: web.Request) -> web.Response:
    raise RuntimeError(SECRET_DETAIL)


async def _refuse(request: web.Request) -> web.Response:
    raise InvalidRequest(ErrorCode.INVALID_ADDRESS, "not a Solana address", {"parameter": "address"})


async def _client(aiohttp_client: Any) -> Any:
    app = web.Application(middlewares=[response_middleware])
    app.router.add_get("/crash", _crash)
    app.router.add_get("/refuse", _refuse)
    return await aiohttp_client(app)


async def test_an_unexpected_error_is_500_internal_error_without_its_text(aiohttp_client: Any, caplog: Any) -> None:
    client = await _client(aiohttp_client)
    response = await client.get("/crash")
    assert response.status == 500
    body = await response.text()
    assert "hunter2" not in body and "RuntimeError" not in body and "Traceback" not in body
    assert await response.json() == {
        "error": "internal error",
        "code": "INTERNAL_ERROR",
        "retryable": False,
        "details": {},
    }
    assert "unhandled error on GET /crash" in caplog.text, "the detail goes to the log instead"


async def test_walletdoctor_and_http_errors_are_json(aiohttp_client: Any) -> None:
    client = await _client(aiohttp_client)
    refused = await client.get("/refuse")
    assert refused.status == 400
    assert await refused.json() == {
        "error": "not a Solana address",
        "code": "INVALID_ADDRESS",
        "retryable": False,
        "details": {"parameter": "address"},
    }
    missing = await client.get("/nowhere")
    assert missing.status == 404 and (await missing.json())["code"] == "NOT_FOUND"
    wrong = await client.post("/refuse")
    assert wrong.status == 405 and (await wrong.json())["code"] == "METHOD_NOT_ALLOWED"
    assert wrong.headers["Allow"] == "GET,HEAD"
