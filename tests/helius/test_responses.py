"""Reading Helius' answers: enhanced transactions decoded into the fields WalletDoctor reads."""

from __future__ import annotations

import orjson
import pytest

from walletdoctor.analytics.extraction import extract_trade
from walletdoctor.helius.emulator.recorded import load_recorded_wallet
from walletdoctor.helius.errors import InvalidResponse
from walletdoctor.helius.responses import decode_transactions, interpret_response, search_hint, transaction_list

WALLET = "3JoVBiQEA2QKsq7TzW5ez5jVRtbbYgTNijoZzp5qgkr2"


def test_unread_fields_and_events_are_skipped_and_the_rest_kept_as_sent() -> None:
    sent = [
        {
            "signature": "s1",
            "slot": 7,
            "description": "x swapped y",
            "instructions": [{"programId": "p", "data": "d" * 100}],
            "events": {"swap": {"nativeInput": {"amount": "5"}}, "nft": {"seller": "z"}},
            "tokenTransfers": [{"mint": "m", "tokenAmount": 1.5}],
            "accountData": [{"account": "a", "nativeBalanceChange": -5}],
            "someFieldHeliusAddsLater": 1,
        },
        {"signature": "s2", "events": None},
    ]
    decoded = decode_transactions(orjson.dumps(sent))
    assert decoded == [
        {
            "signature": "s1",
            "slot": 7,
            "events": {"swap": {"nativeInput": {"amount": "5"}}},
            "tokenTransfers": [{"mint": "m", "tokenAmount": 1.5}],
            "accountData": [{"account": "a", "nativeBalanceChange": -5}],
        },
        {"signature": "s2", "events": None},
    ]
    assert all(type(item) is dict for item in decoded)


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Failed to find events within the search period. To continue search, query the API again with "
                  "the `before-signature` parameter set to 5wHu1qwD7q3S4ALZGJJzu6NdHHVRzMZjNJbHAHgvsNpZ8VuXpWbJF8AbXb5nkXDoGUAN4Nwbd3qJNXiJRbbFB6Pa."},
        [{"signature": "s1"}, "not a transaction"],
        [{"signature": "s1", "events": ["not", "an", "object"]}],
    ],
    ids=["search hint", "an item that is not an object", "events that are not an object"],
)  # fmt: skip
def test_other_shapes_are_decoded_whole_for_the_caller_to_judge(body: object) -> None:
    assert decode_transactions(orjson.dumps(body)) == body


def test_a_search_hint_still_resumes_and_a_bad_list_is_still_refused() -> None:
    hint = {"error": "Failed to find events ... set to 5wHu1qwD7q3S4ALZGJJzu6NdHHVRzMZjNJbHAHgvsNpZ8VuXpWbJF8AbXb5nkXDoGUAN4Nwbd3qJNXiJRbbFB6Pa"}
    body = interpret_response("enhanced_history", 200, orjson.dumps(hint), None, True, decode_transactions)
    assert search_hint(body) is not None
    body = interpret_response("enhanced_parse", 200, b'[{"signature": "s"}, 3]', None, False, decode_transactions)
    with pytest.raises(InvalidResponse):
        transaction_list(body, "enhanced_parse")


@pytest.mark.parametrize("raw", [b"", b"[{", b"<html>502</html>", b'[{"signature": "s"}] trailing'])
def test_a_body_that_is_not_json_is_an_invalid_response(raw: bytes) -> None:
    with pytest.raises(InvalidResponse):
        interpret_response("enhanced_parse", 200, raw, None, False, decode_transactions)


def test_every_trade_of_the_real_wallet_comes_out_of_the_decoded_fields_unchanged() -> None:
    history = load_recorded_wallet()
    full = [history.transaction(i) for i in range(len(history))]
    decoded = decode_transactions(orjson.dumps(full))
    trades = [extract_trade(t, WALLET) for t in decoded]
    assert trades == [extract_trade(t, WALLET) for t in full]
    assert sum(trade is not None for trade in trades) == 6483
