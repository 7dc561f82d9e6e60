"""Server-Sent Events: the event model and wire encoding, and the writer loop of a stream."""

from walletdoctor.sse.event import EncodedEvent, EventName, encode_event, encode_retry

__all__ = ["EncodedEvent", "EventName", "encode_event", "encode_retry"]
