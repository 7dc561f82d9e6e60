"""The live streams of one process, so that shutdown can reach every one of them.

aiohttp has no knowledge of how to end a long-lived response gracefully
(FACTS 5.2): on ``on_shutdown`` the app asks the registry to end each
stream with an ``error`` event ``SHUTTING_DOWN`` (retryable), with a
jittered ``retry:`` so that thousands of clients do not all reconnect in
the same instant (Mercure's randomised write deadline, STYLE 10).
"""

from __future__ import annotations

import random

from walletdoctor.errors import ErrorCode, StreamFailure
from walletdoctor.sse.event import EventName, encode_retry
from walletdoctor.streams.session import StreamSession

__all__ = ["StreamRegistry"]


class StreamRegistry:
    """The process's open streams, by stream id."""

    def __init__(self) -> None:
        self._sessions: dict[str, StreamSession] = {}
        self.closing = False

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, session: StreamSession) -> None:
        """Register an open stream."""
        self._sessions[session.stream_id] = session

    def discard(self, session: StreamSession) -> None:
        """Forget a stream that ended (no error if it is unknown)."""
        self._sessions.pop(session.stream_id, None)

    def shut_down(self, retry_ms: int) -> int:
        """End every open stream with ``SHUTTING_DOWN``; returns how many were told.

        Each stream gets a ``retry:`` drawn from ``retry_ms`` .. 2 x ``retry_ms``.
        """
        self.closing = True
        failure = StreamFailure(ErrorCode.SHUTTING_DOWN, "the server is restarting; reconnect to continue")
        for session in list(self._sessions.values()):
            event = session.event(EventName.ERROR, failure.to_json())
            retry = encode_retry(random.randint(retry_ms, 2 * retry_ms))
            session.interrupt(event, prefix=retry)
        return len(self._sessions)
