"""``walletdoctor.client``: read a WalletDoctor wallet stream as typed events, across reconnects.

::

    from walletdoctor.client import TradesEvent, WalletStream

    async with WalletStream("http://localhost:8080", address, api_key=key) as stream:
        async for event in stream:
            if isinstance(event, TradesEvent):
                for trade in event.trades:
                    print(trade.signature, trade.side, trade.amount_in, trade.token_in)
    print(stream.complete.summary.realized_pnl_usd)

Reconnects (``Last-Event-ID``, backoff, stall detection) are
:mod:`walletdoctor.client.stream`'s; every failure is raised as one of
:mod:`walletdoctor.client.errors`. ``walletdoctor stream ADDRESS`` is the
command-line front end (:mod:`walletdoctor.client.console`).
"""

from walletdoctor.client.backoff import Backoff
from walletdoctor.client.errors import (
    BadRequest,
    ProtocolError,
    RateLimited,
    ReconnectsExhausted,
    RequestRefused,
    StreamClientError,
    StreamEnded,
    StreamExpired,
    StreamFailed,
    Unauthorized,
)
from walletdoctor.client.events import (
    CompleteEvent,
    ConnectedEvent,
    ErrorEvent,
    HeartbeatEvent,
    ProgressEvent,
    StreamEvent,
    Trade,
    TradesEvent,
)
from walletdoctor.client.stream import Reconnect, WalletStream
from walletdoctor.client.summary import Summary, TokenStats

__all__ = [
    "Backoff",
    "BadRequest",
    "CompleteEvent",
    "ConnectedEvent",
    "ErrorEvent",
    "HeartbeatEvent",
    "ProgressEvent",
    "ProtocolError",
    "RateLimited",
    "Reconnect",
    "ReconnectsExhausted",
    "RequestRefused",
    "StreamClientError",
    "StreamEnded",
    "StreamEvent",
    "StreamExpired",
    "StreamFailed",
    "Summary",
    "TokenStats",
    "Trade",
    "TradesEvent",
    "Unauthorized",
    "WalletStream",
]
