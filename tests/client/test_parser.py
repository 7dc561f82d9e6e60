"""The event-stream parser against WHATWG HTML 9.2.6's own examples and its edge rules."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from walletdoctor.client.parser import EventStreamParser, ServerSentEvent


def parse(*chunks: bytes) -> list[ServerSentEvent]:
    parser = EventStreamParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_spec_example_stock_ticker_joins_data_lines() -> None:
    events = parse(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert events == [ServerSentEvent("message", "YHOO\n+2\n10", None, "")]


def test_spec_example_comments_ids_and_leading_space() -> None:
    # "The first block has just a comment, and will fire nothing. The second block has two fields
    # ... 'first event' ... last event ID '1'. The third block fires an event with data 'second
    # event', and also has an 'id' field, this time with no value, which resets the last event
    # ID ... The last block fires an event with the data ' third event' (with a single leading space)."
    events = parse(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n")
    assert [(e.data, e.last_event_id) for e in events] == [
        ("first event", "1"),
        ("second event", ""),
        (" third event", ""),
    ]
    assert [e.id for e in events] == ["1", "", None]


def test_spec_example_empty_data_and_discarded_last_block() -> None:
    # "The first block fires events with the data set to the empty string ... The middle block
    # fires an event with the data set to a single newline character. The last block is
    # discarded because it is not followed by a blank line."
    events = parse(b"data\n\ndata\ndata\n\ndata:")
    assert [e.data for e in events] == ["", "\n"]


def test_spec_example_space_after_colon_is_optional() -> None:
    events = parse(b"data:test\n\ndata: test\n\n")
    assert [e.data for e in events] == ["test", "test"]


def test_spec_example_event_types() -> None:
    events = parse(b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n")
    assert [(e.event, e.data) for e in events] == [("add", "73857293"), ("remove", "2153"), ("add", "113411")]


def test_crlf_cr_and_lf_line_ends_mix() -> None:
    events = parse(b"event: a\r\ndata: 1\r\rid: x\ndata: 2\r\n\n")
    assert [(e.event, e.data, e.id) for e in events] == [("a", "1", None), ("message", "2", "x")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    events = parse(b"data: 1\r", b"\n", b"\r", b"\ndata: 2\r", b"\r\n")
    assert [e.data for e in events] == ["1", "2"]


def test_one_leading_bom_is_ignored_a_second_is_not() -> None:
    assert parse(b"\xef\xbb\xbfdata: a\n\n")[0].data == "a"
    # Split inside the BOM's bytes, then a second BOM: it starts a field name no one knows.
    events = parse(b"\xef\xbb", b"\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n")
    assert [e.data for e in events] == ["b"]


def test_multibyte_utf8_split_across_chunks_and_invalid_bytes_replaced() -> None:
    body = "data: süß €\n\n".encode()
    events = parse(*[body[i : i + 1] for i in range(len(body))])
    assert events[0].data == "süß €"
    assert parse(b"data: \xff\n\n")[0].data == "\ufffd"


def test_retry_takes_ascii_digits_only() -> None:
    parser = EventStreamParser()
    parser.feed(b"retry: 3000\n\n")
    assert parser.retry_ms == 3000
    for bad in (b"retry: 3s\n", b"retry: -1\n", b"retry: \xd9\xa3\n", b"retry:\n", b"retry: 1 \n"):
        parser.feed(bad)
        assert parser.retry_ms == 3000, bad


def test_id_with_nul_is_ignored_and_the_last_id_carries_over() -> None:
    events = parse(b"id: s:1\ndata: a\n\nid: bad\x00id\ndata: b\n\nevent: heartbeat\ndata: c\n\n")
    assert [(e.id, e.last_event_id) for e in events] == [("s:1", "s:1"), (None, "s:1"), (None, "s:1")]


def test_an_id_only_block_moves_the_last_id_without_dispatching() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"id: s:7\n\n") == []
    assert parser.last_event_id == "s:7"


def test_unknown_fields_and_lines_without_colon_are_ignored() -> None:
    events = parse(b"foo: bar\nevent\ndata: x\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "x")]


def test_value_keeps_later_colons_and_only_one_space_is_dropped() -> None:
    events = parse(b'data:  {"a": "b:c"}\n\n')
    assert events[0].data == ' {"a": "b:c"}'


def test_event_type_and_data_reset_after_dispatch() -> None:
    events = parse(b"event: trades\ndata: 1\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("trades", "1"), ("message", "2")]


def test_a_long_line_over_many_chunks() -> None:
    data = b"x" * 200_000
    body = b"data: " + data + b"\n\n"
    events = parse(*[body[i : i + 1000] for i in range(0, len(body), 1000)])
    assert events[0].data == data.decode()


_STREAM = (
    "\ufeffretry: 1500\r\n: comment\nid: s:1\nevent: connected\ndata: {\"a\": 1}\n\n"
    "event: heartbeat\rdata: {}\r\r"
    "id: s:2\r\nevent: trades\r\ndata: [1,\r\ndata: 2] é\r\n\r\n"
    "data: tail without end"
).encode()


@given(st.lists(st.integers(min_value=0, max_value=len(_STREAM)), max_size=12))
def test_any_split_of_the_body_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(_STREAM)]
    chunks = [_STREAM[a:b] for a, b in pairwise(bounds)]
    parser = EventStreamParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    assert events == [
        ServerSentEvent("connected", '{"a": 1}', "s:1", "s:1"),
        ServerSentEvent("heartbeat", "{}", None, "s:1"),
        ServerSentEvent("trades", "[1,\n2] é", "s:2", "s:2"),
    ]
    assert parser.retry_ms == 1500
