"""Redis commands out of the reach of their caller's cancellation.

On Python 3.11, ``asyncio.wait_for`` can swallow a cancellation that arrives
just as the awaited operation completes (CPython gh-86296, fixed in 3.12),
and redis-py's asyncio client wraps every socket write in it
(``redis/asyncio/connection.py``, ``send_packed_command``). A task cancelled
during a Redis command (a stream's producer whose last client left) could
then go on running as if nothing had happened, measured here in about one
cancellation in three. So such commands run in a task of their own that no
cancellation reaches; the caller stops waiting at once, and the command ends
by itself, bounded by the client's socket timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

__all__ = ["shielded", "shielded_method"]

T = TypeVar("T")
P = ParamSpec("P")


async def shielded(command: Coroutine[Any, Any, T]) -> T:
    """Await ``command`` in its own task, which a cancellation of the caller does not reach.

    Returns what ``command`` returns and raises what it raises; when the
    caller is cancelled, raises ``asyncio.CancelledError`` at once and lets
    ``command`` finish in the background (its outcome is then discarded).
    """
    task = asyncio.ensure_future(command)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def shielded_method(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate an async method whose Redis commands must run :func:`shielded`."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await shielded(method(*args, **kwargs))

    return wrapper


def _retrieve(task: asyncio.Future[Any]) -> None:
    # An abandoned command's failure was already handled by not waiting for it.
    if not task.cancelled():
        task.exception()
