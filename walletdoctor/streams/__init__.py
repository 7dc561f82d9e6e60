"""Per-stream sessions: identity, event sequence, the bounded queue, and the pipeline that fills it."""

from walletdoctor.streams.pipeline import TradePipeline
from walletdoctor.streams.session import StreamParams, StreamSession

__all__ = ["StreamParams", "StreamSession", "TradePipeline"]
