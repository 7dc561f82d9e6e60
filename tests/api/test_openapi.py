"""The OpenAPI document: valid OpenAPI 3.1, one entry per route, schemas that match the code."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from walletdoctor.analytics.trade import Side
from walletdoctor.api.openapi import build_openapi
from walletdoctor.api.schemas import COMPONENT_SCHEMAS, EVENT_DATA_SCHEMAS
from walletdoctor.app import create_app
from walletdoctor.appkeys import UpstreamEndpoints
from walletdoctor.config import Settings
from walletdoctor.errors import ErrorCode
from walletdoctor.sse.event import EventName

_DOCUMENT_URI = "urn:walletdoctor:openapi"


def validator(document: dict[str, Any], component: str = "", *, pointer: str = "") -> Draft202012Validator:
    """A validator for the schema ``#/components/schemas/<component>`` of ``document``, or the
    one at JSON ``pointer`` in it; its references resolve within ``document``."""
    registry: Registry[Any] = Registry().with_resource(
        _DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    target = pointer or f"/components/schemas/{component}"
    return Draft202012Validator({"$ref": f"{_DOCUMENT_URI}#{target}"}, registry=registry)


TRADE = {
    "signature": "5g5rkbqii8rkHfgC8CWLDB2bBzKeoXcqmjyFbMvxUW9xXEEHnFc1QRqiG9eEcxdmLk6XgjVpJRnwYqqbWZKg3eBP",
    "slot": 349787167,
    "timestamp": 1751126222,
    "source": "RAYDIUM",
    "side": "sell",
    "token_in": "lub",
    "token_out": "SOL",
    "token_in_mint": "2GaUUmQFCHSMLRMySzjvdqwLCcGVdUpcsQDanpjwmoon",
    "token_out_mint": "So11111111111111111111111111111111111111112",
    "amount_in": "1986656.546333",
    "amount_out": "0.077849895",
    "price": "0.0000000391863883788551605",
    "value_usd": None,
    "fee_sol": "0.020783498",
    "pnl_usd": None,
    "pnl_sol": None,
}


def test_the_document_is_valid_openapi_3_1() -> None:
    document = build_openapi()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)
    for schema in COMPONENT_SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_every_route_is_documented_and_every_path_routed() -> None:
    app = create_app(
        Settings(_env_file=None),
        upstream=UpstreamEndpoints(api_url="http://127.0.0.1:9", rpc_url="http://127.0.0.1:9", api_key="k", embedded=True),
    )
    routed = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
    }
    documented = {(method.upper(), path) for path, item in build_openapi()["paths"].items() for method in item}
    assert routed == documented


def test_event_types_and_codes_come_from_the_code() -> None:
    document = build_openapi()
    stream = document["paths"]["/v4/wallet/{address}/stream"]["get"]
    events = stream["responses"]["200"]["content"]["text/event-stream"]["x-sse-events"]
    assert list(events) == [name.value for name in EventName] == list(EVENT_DATA_SCHEMAS)
    error_event = COMPONENT_SCHEMAS["ErrorEvent"]["properties"]["code"]["enum"]
    assert error_event == [code.value for code in ErrorCode]
    assert COMPONENT_SCHEMAS["Trade"]["properties"]["side"]["enum"] == [side.value for side in Side]


def test_a_trade_object_from_the_readme_validates() -> None:
    validator(build_openapi(), "Trade").validate(TRADE)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"amount_in": 1986656.546333}, "decimals travel as strings, never as floats"),
        ({"price": "3.9e-8"}, "decimal text has no exponent"),
        ({"side": "long"}, "buy, sell or swap"),
        ({"extra": 1}, "trade objects are closed"),
        ({"fee_sol": None}, "the fee is always known"),
    ],
)
def test_a_trade_object_that_breaks_the_contract_does_not_validate(change: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError):
        validator(build_openapi(), "Trade").validate({**TRADE, **change})


def test_the_stream_event_envelope() -> None:
    check = validator(build_openapi(), "StreamEvent")
    stream_id = "9df39727-4eb6-454d-b513-b4c11e52d77b"
    check.validate({"event": "heartbeat", "data": {"timestamp": 1795270281.49}})
    check.validate(
        {
            "event": "connected",
            "id": f"{stream_id}:1",
            "data": {"stream_id": stream_id, "wallet": TRADE["token_in_mint"], "timestamp": 1.5, "resumed": False},
        }
    )
    check.validate(
        {
            "event": "error",
            "id": f"{stream_id}:9",
            "data": {"error": "gone", "code": "STREAM_EXPIRED", "retryable": False, "details": {}},
        }
    )
    with pytest.raises(ValidationError):  # an event other than a heartbeat needs its id
        check.validate({"event": "progress", "data": {"step": "fetching"}})
    with pytest.raises(ValidationError):  # HTTP-only codes never appear in an error event
        check.validate(
            {"event": "error", "id": f"{stream_id}:2", "data": {"error": "x", "code": "NOT_FOUND", "retryable": False, "details": {}}}
        )
