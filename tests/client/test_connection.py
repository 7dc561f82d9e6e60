"""Error answers become the client's typed refusals, with WalletDoctor's JSON body and Retry-After."""

from __future__ import annotations

import email.utils
import time

import orjson
import pytest

from walletdoctor.client.connection import refusal_of
from walletdoctor.client.errors import BadRequest, RateLimited, RequestRefused, Unauthorized
from walletdoctor.errors import ErrorCode


def body(code: str, retryable: bool, **details: object) -> bytes:
    return orjson.dumps({"error": "text", "code": code, "retryable": retryable, "details": details})


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(400, "INVALID_ADDRESS", BadRequest), (401, "UNAUTHORIZED", Unauthorized), (429, "TOO_MANY_STREAMS", RateLimited),
     (503, "SHUTTING_DOWN", RequestRefused), (404, "NOT_FOUND", RequestRefused)],
)
def test_status_picks_the_class_and_the_body_the_facts(status: int, code: str, cls: type[RequestRefused]) -> None:
    refusal = refusal_of(status, body(code, status >= 429, parameter="x"), {}, last_event_id="s:4")
    assert type(refusal) is cls
    assert (refusal.status, refusal.code, refusal.retryable) == (status, code, status >= 429)
    assert refusal.details == {"parameter": "x"} and refusal.last_event_id == "s:4"
    assert str(refusal) == f"HTTP {status}: text"


def test_known_codes_become_error_codes() -> None:
    assert refusal_of(429, body("RATE_LIMIT", True), {}).code is ErrorCode.RATE_LIMIT


def test_a_proxy_page_still_gives_a_refusal_retryable_for_5xx() -> None:
    bad_gateway = refusal_of(502, b"<html>Bad Gateway</html>", {})
    assert bad_gateway.code is None and bad_gateway.retryable and bad_gateway.details == {}
    assert not refusal_of(403, b"", {}).retryable


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert refusal_of(429, b"", {"Retry-After": "12"}).retry_after_s == 12.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    from_date = refusal_of(503, b"", {"Retry-After": later}).retry_after_s
    assert from_date is not None and 25 <= from_date <= 30
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert refusal_of(503, b"", {"Retry-After": past}).retry_after_s == 0.0
    assert refusal_of(503, b"", {"Retry-After": "soon"}).retry_after_s is None
    assert refusal_of(503, b"", {}).retry_after_s is None
