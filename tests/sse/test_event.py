from decimal import Decimal

import orjson
import pytest

from walletdoctor.sse.event import EventName, encode_event, encode_retry, parse_event_id


def _fields(frame: bytes) -> list[tuple[str, str]]:
    assert frame.endswith(b"\n\n"), "an event ends with a blank line"
    lines = frame[:-2].decode("utf-8").split("\n")
    return [tuple(line.split(": ", 1)) for line in lines]  # type: ignore[misc]


def test_event_has_id_event_and_one_data_line() -> None:
    encoded = encode_event(EventName.TRADES, {"trades": [], "note": "multi\nline"}, 7)
    fields = _fields(encoded.frame("abc"))
    assert fields[0] == ("id", "abc:7")
    assert [name for name, _ in fields] == ["id", "event", "data"]
    assert fields[1] == ("event", "trades")
    assert orjson.loads(fields[2][1]) == {"trades": [], "note": "multi\nline"}
    assert b"\r" not in encoded.frame("abc")


def test_the_body_is_shared_and_only_the_id_line_differs_between_streams() -> None:
    encoded = encode_event(EventName.PROGRESS, {"n": 1}, 3)
    first, second = encoded.frame("stream-a"), encoded.frame("stream-b")
    assert first.endswith(encoded.body) and second.endswith(encoded.body)
    assert first.startswith(b"id: stream-a:3\n") and second.startswith(b"id: stream-b:3\n")


def test_heartbeat_has_no_id() -> None:
    encoded = encode_event(EventName.HEARTBEAT, {"timestamp": 1.5})
    assert [name for name, _ in _fields(encoded.frame("abc"))] == ["event", "data"]
    assert encoded.seq is None
    assert not encoded.is_final


def test_final_events() -> None:
    assert encode_event(EventName.COMPLETE, {}, 1).is_final
    assert encode_event(EventName.ERROR, {}, 2).is_final
    assert not encode_event(EventName.TRADES, {}, 3).is_final


def test_decimal_becomes_string_and_data_decodes_back() -> None:
    encoded = encode_event(EventName.PROGRESS, {"v": Decimal("1.50")}, 1)
    assert b'"v":"1.50"' in encoded.body
    assert encoded.data() == {"v": "1.50"}


def test_trades_are_counted_for_metrics() -> None:
    assert encode_event(EventName.TRADES, {"trades": [{}, {}, {}]}, 4).trades == 3
    assert encode_event(EventName.PROGRESS, {"trades": [{}]}, 4).trades == 0


def test_retry_field() -> None:
    assert encode_retry(3000) == b"retry: 3000\n"
    with pytest.raises(ValueError):
        encode_retry(-1)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("9df39727-4eb6-454d-b513-b4c11e52d77b:12", ("9df39727-4eb6-454d-b513-b4c11e52d77b", 12)),
        (" s:1 ", ("s", 1)),
        ("s", None),
        (":5", None),
        ("s:", None),
        ("s:-1", None),
        ("s:1e3", None),
        ("s:" + "9" * 13, None),
    ],
)
def test_last_event_id_is_split_into_stream_and_position(value: str, parsed: tuple[str, int] | None) -> None:
    assert parse_event_id(value) == parsed
