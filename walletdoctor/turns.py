"""Turns for CPU-heavy steps on the event loop: one at a time, with the loop between them.

A parse answer of 100 real transactions is about 500 kB of JSON and takes
about 10 ms of CPU to decode (with orjson; 3.4 ms as decoded now). A stream's first parse requests
leave together and their answers land together, so without turns the
tasks holding them all become ready in one loop iteration and decode back
to back: measured on the real wallet, the answers to the first batch's
symbol and price look-ups (DAS ``getAssetBatch``, Birdeye) then waited
80-100 ms each in the ready queue before their coroutines resumed, twice
over before the first ``trades`` event. Taking turns, each decode ends
with a yield to the loop while still holding the turn, so I/O and the
tasks it woke run between two decodes; the next decode waits for a later
iteration. The CPU spent is the same; what changes is who waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["CpuTurns"]


class CpuTurns:
    """Steps taken in turn, first come first served, one per loop iteration at most.

    One per process (per event loop), shared by every task whose steps are
    long enough to delay the others' I/O: :meth:`turn` around each. Short
    steps (a JSON-RPC answer of a few kB) should not take a turn: they would
    queue behind the long ones for no gain.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for this task's turn, run the block, then let the loop run once before the next turn.

        Cancellation while waiting gives the turn up; an error in the block
        ends the turn at once.
        """
        async with self._lock:
            yield
            # Still holding the turn: the next one starts in a later iteration,
            # after the I/O callbacks and tasks that this one kept waiting.
            await asyncio.sleep(0)
