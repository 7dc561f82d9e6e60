import orjson
import pytest

from walletdoctor.sse.event import EventName, encode_event, encode_retry


def _fields(frame: bytes) -> list[tuple[str, str]]:
    assert frame.endswith(b"\n\n"), "an event ends with a blank line"
    lines = frame[:-2].decode("utf-8").split("\n")
    return [tuple(line.split(": ", 1)) for line in lines]  # type: ignore[misc]


def test_event_has_id_event_and_one_data_line() -> None:
    encoded = encode_event(EventName.TRADES, {"trades": [], "note": "multi\nline"}, "abc:7")
    fields = _fields(encoded.frame)
    assert fields[0] == ("id", "abc:7")
    assert fields[1] == ("event", "trades")
    assert [name for name, _ in fields] == ["id", "event", "data"]
    assert orjson.loads(fields[2][1]) == {"trades": [], "note": "multi\nline"}
    assert b"\r" not in encoded.frame


def test_heartbeat_has_no_id() -> None:
    encoded = encode_event(EventName.HEARTBEAT, {"timestamp": 1.5})
    assert [name for name, _ in _fields(encoded.frame)] == ["event", "data"]
    assert encoded.event_id is None
    assert not encoded.is_final


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b"])
def test_ids_with_line_breaks_or_nul_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_event(EventName.PROGRESS, {}, bad)


def test_final_events() -> None:
    assert encode_event(EventName.COMPLETE, {}, "x:1").is_final
    assert encode_event(EventName.ERROR, {}, "x:2").is_final
    assert not encode_event(EventName.TRADES, {}, "x:3").is_final


def test_decimal_becomes_string() -> None:
    from decimal import Decimal

    frame = encode_event(EventName.PROGRESS, {"v": Decimal("1.50")}, "x:1").frame
    assert b'"v":"1.50"' in frame


def test_retry_field() -> None:
    assert encode_retry(3000) == b"retry: 3000\n"
    with pytest.raises(ValueError):
        encode_retry(-1)
