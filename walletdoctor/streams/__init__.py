"""Streams: the feeds that fetches fill, the connections that read them, and the hub that ties them.

- :class:`Feed`: the events of one fetch, shared by every stream of the same
  request, and those streams' resume buffer.
- :class:`Subscription`: one client connection reading a stream from its position.
- :class:`FeedHub`: the process's feeds and streams (single flight, resume,
  cancellation, shutdown); with :class:`RedisFeedStore`, across processes.
- :class:`TradePipeline`: the producer that fills a feed from Helius.
"""

from walletdoctor.streams.feed import Checkpoint, Feed, FeedEvicted
from walletdoctor.streams.hub import FeedHub, HubSettings, ResumeRefused
from walletdoctor.streams.mirror import RedisFeedStore
from walletdoctor.streams.params import StreamParams
from walletdoctor.streams.pipeline import TradePipeline
from walletdoctor.streams.subscription import Subscription

__all__ = [
    "Checkpoint",
    "Feed",
    "FeedEvicted",
    "FeedHub",
    "HubSettings",
    "RedisFeedStore",
    "ResumeRefused",
    "StreamParams",
    "Subscription",
    "TradePipeline",
]
