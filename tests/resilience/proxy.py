"""A fault-injecting TCP proxy for the resilience suite (test support, not shipped).

It listens on a loopback port and forwards every connection to one target,
and it can, switched at run time while streams are open:

- :meth:`FaultProxy.shape`: a slow link, each direction on its own: a chunk
  leaves after the previous one has been serialized at ``bandwidth_bps``
  and arrives ``latency_s`` later (``SLOW_LINK`` is 400 kbit/s and 300 ms).
  The link carries what it can and no more: reading stops while it is busy,
  so a sender feels TCP backpressure as on a real slow link.
- :meth:`FaultProxy.stall` / :meth:`FaultProxy.unstall`: stop reading and
  forwarding in both directions, without closing anything; new connections
  are accepted and stall too. At unstall, what was already on the wire (at
  most one chunk per direction, plus the slow link's bandwidth-delay
  product) arrives first, then the link resumes its pace.
- :meth:`FaultProxy.reset_share`: reset a share of the *new* connections
  mid-stream: each is chosen with probability ``share`` from a seeded
  random generator, and a chosen one is reset (RST both ways, ``SO_LINGER``
  0) once it has carried a random number of bytes towards the client,
  drawn from ``after_bytes``.
- :meth:`FaultProxy.handoff`: a network handoff: reset every open
  connection and refuse new ones (the port stops listening, so a connect
  gets ``ECONNREFUSED``) for ``refuse_s`` seconds.

:attr:`FaultProxy.counters` counts connections accepted, reset and cut, and
bytes each way. Everything runs on the event loop of the caller; loopback only.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from dataclasses import dataclass
from typing import Self

__all__ = ["SLOW_LINK", "FaultProxy", "LinkShape", "ProxyCounters"]

#: Bytes read from a socket at a time: the unit of shaping.
_CHUNK = 4096
#: Chunks held per direction between reading and delivering (256 KiB), far
#: above the slow link's bandwidth-delay product (400 kbit/s x 0.3 s = 15 KB).
_IN_FLIGHT_CHUNKS = 64
_LINGER_ZERO = struct.pack("ii", 1, 0)


@dataclass(frozen=True, slots=True)
class LinkShape:
    """A link's shape, applied to each direction: bits per second and one-way added latency (s)."""

    bandwidth_bps: float
    latency_s: float

    def __post_init__(self) -> None:
        if self.bandwidth_bps <= 0 or self.latency_s < 0:
            raise ValueError("bandwidth must be positive and latency not negative")


#: The issue's slow link: about 400 kbit/s and 300 ms, both directions.
SLOW_LINK = LinkShape(bandwidth_bps=400_000, latency_s=0.3)


@dataclass(slots=True)
class ProxyCounters:
    """What the proxy did so far.

    Attributes:
        accepted: connections accepted from clients.
        reset: connections reset by :meth:`FaultProxy.reset_share`.
        cut: connections reset by :meth:`FaultProxy.handoff`.
        bytes_up: bytes delivered to the target (client to server).
        bytes_down: bytes delivered to clients (server to client).
    """

    accepted: int = 0
    reset: int = 0
    cut: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class _Pair:
    """One proxied connection: the client's side, the target's side and their pumps."""

    def __init__(self, client: asyncio.StreamWriter, target: asyncio.StreamWriter, reset_after: int | None) -> None:
        self.client = client
        self.target = target
        #: Bytes towards the client before a reset, ``None`` for a connection left alone.
        self.reset_after = reset_after
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self) -> None:
        """Reset both sides (RST, not FIN) and stop the pumps."""
        _reset(self.client)
        _reset(self.target)
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s connection with an RST: ``SO_LINGER`` on with a zero timeout, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        except OSError:
            pass  # already closed: nothing left to reset
    writer.transport.abort()


class FaultProxy:
    """A TCP proxy from ``host:port`` (port 0: any free one) to ``target_host:target_port``.

    Use ``async with FaultProxy(...) as proxy:``; :attr:`url` is its
    ``http://`` base URL. ``seed`` makes the choice of reset connections and
    their byte counts reproducible.
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = port
        self.counters = ProxyCounters()
        self._rng = random.Random(seed)
        self._shape: LinkShape | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._reset_share = 0.0
        self._reset_after = (1, 64 * 1024)
        self._pairs: set[_Pair] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        #: Handoffs so far: a connection accepted before one and still opening is cut too.
        self._handoffs = 0

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening side."""
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections being proxied now."""
        return len(self._pairs)

    async def __aenter__(self) -> Self:
        await self._listen()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for pair in list(self._pairs):
            pair.abort()
        handlers = list(self._handlers)
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def shape(self, link: LinkShape | None) -> None:
        """Shape every connection, open and new, as ``link``; ``None`` for the plain loopback."""
        self._shape = link

    def stall(self) -> None:
        """Stop forwarding in both directions; connections stay open (see :meth:`unstall`)."""
        self._flowing.clear()

    def unstall(self) -> None:
        """Forward again what the stall held back, in order."""
        self._flowing.set()

    def reset_share(self, share: float, *, after_bytes: tuple[int, int] = (1, 64 * 1024)) -> None:
        """Reset ``share`` (0..1) of the connections accepted from now on, each after a number
        of bytes towards the client drawn uniformly from ``after_bytes`` (inclusive)."""
        if not 0 <= share <= 1 or not 0 < after_bytes[0] <= after_bytes[1]:
            raise ValueError("share must be within 0..1 and after_bytes a positive range")
        self._reset_share = share
        self._reset_after = after_bytes

    async def handoff(self, refuse_s: float) -> None:
        """Reset every open connection, refuse connections for ``refuse_s`` seconds, then listen
        again on the same port. Returns once listening again."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._handoffs += 1
        for pair in list(self._pairs):
            self.counters.cut += 1
            pair.abort()
        await asyncio.sleep(refuse_s)
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.accepted += 1
        # Drawn at accept time, in accept order, so that a seed gives the same choices.
        reset_after = None
        if self._reset_share and self._rng.random() < self._reset_share:
            reset_after = self._rng.randint(*self._reset_after)
        task = asyncio.create_task(self._proxy(reader, writer, reset_after, self._handoffs))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _proxy(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter, reset_after: int | None, handoffs: int
    ) -> None:
        try:
            target_reader, target = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client)
            return
        pair = _Pair(client, target, reset_after)
        if handoffs != self._handoffs:
            # A handoff came while this connection was opening: it is cut like the others.
            self.counters.cut += 1
            pair.abort()
            return
        self._pairs.add(pair)
        try:
            queues: tuple[asyncio.Queue[tuple[float, bytes] | None], ...] = (
                asyncio.Queue(_IN_FLIGHT_CHUNKS),
                asyncio.Queue(_IN_FLIGHT_CHUNKS),
            )
            pair.tasks = [
                asyncio.create_task(self._read(client_reader, queues[0])),
                asyncio.create_task(self._deliver(queues[0], pair, downstream=False)),
                asyncio.create_task(self._read(target_reader, queues[1])),
                asyncio.create_task(self._deliver(queues[1], pair, downstream=True)),
            ]
            await asyncio.gather(*pair.tasks)
        except (asyncio.CancelledError, ConnectionError, OSError):
            pair.abort()
        finally:
            self._pairs.discard(pair)
            for writer in (client, target):
                writer.close()

    async def _read(self, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes] | None]) -> None:
        """Read chunks as fast as the link carries them; each is stamped with its delivery time."""
        loop = asyncio.get_running_loop()
        link_free_at = loop.time()
        while True:
            # A stalled link reads nothing more: the sender feels it as a full TCP window.
            await self._flowing.wait()
            data = await reader.read(_CHUNK)
            if not data:
                await queue.put(None)
                return
            shape, now = self._shape, loop.time()
            if shape is None:
                await queue.put((now, data))
                continue
            link_free_at = max(now, link_free_at) + len(data) * 8 / shape.bandwidth_bps
            await queue.put((link_free_at + shape.latency_s, data))
            # Serialization: the next chunk is read once this one has left.
            await asyncio.sleep(link_free_at - now)

    async def _deliver(self, queue: asyncio.Queue[tuple[float, bytes] | None], pair: _Pair, *, downstream: bool) -> None:
        """Write each chunk at its delivery time, unless stalled; reset the pair at its byte budget."""
        loop = asyncio.get_running_loop()
        writer = pair.client if downstream else pair.target
        while True:
            item = await queue.get()
            if item is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            deliver_at, data = item
            if (delay := deliver_at - loop.time()) > 0:
                await asyncio.sleep(delay)
            await self._flowing.wait()
            if downstream and pair.reset_after is not None:
                budget = pair.reset_after
                if len(data) >= budget:
                    writer.write(data[:budget])
                    await writer.drain()
                    self.counters.bytes_down += budget
                    self.counters.reset += 1
                    pair.abort()
                    return
                pair.reset_after = budget - len(data)
            writer.write(data)
            await writer.drain()
            if downstream:
                self.counters.bytes_down += len(data)
            else:
                self.counters.bytes_up += len(data)
