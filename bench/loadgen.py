"""The load generator: many SSE streams over raw uvloop sockets, as little client CPU as possible.

Run by the bench as a subprocess (``python -m bench.loadgen JOB_JSON``),
pinned to the load-generator CPU, several at once. It is the
"lightweight client" of ``shared/reference/PEER_BENCH.md`` (B2/C2): a
hand-written ``GET``, no HTTP client library and no SSE parser. Events are
found by searching the byte stream for ``\\nevent: <name>`` lines (every
event line follows a line end: the response headers, an HTTP chunk header
or the previous event), which also works across TCP reads. Chunked
encoding is left in place: servers write one chunk per event, so a chunk
header never splits an event line.

Job (JSON object, keys of :class:`Job`); then, on standard input, one
command a line: ``report`` (print what was seen so far), ``close`` (reset
every connection, report, exit). Standard output carries JSON lines:
``{"event": "ramped", ...}`` once every stream has connected or given up,
``{"event": "report", ...}`` on request, on ``close``, and by itself when
``exit_when_done`` and every stream has ended. Times are
``time.monotonic()`` seconds, which all processes of the machine share.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvloop

from bench.pin import raise_open_files_limit

__all__ = ["Job", "main"]

_MARK = b"\nevent: "
#: Bytes kept between reads: an event line cut by a read is at most this long.
_CARRY = 32
#: Linux ``IP_BIND_ADDRESS_NO_PORT``: bind a source address, pick the port at connect time.
_IP_BIND_ADDRESS_NO_PORT = 24


@dataclass(frozen=True)
class Job:
    """What one generator process does.

    Attributes:
        port, host: the server.
        paths: request targets, used round-robin over the ``n`` streams.
        n: streams to open.
        source_ip: loopback address the connections come from (spreads
            the ephemeral ports of several generators).
        connect_limit: streams waiting for their ``connected`` event at
            once (``None``: all at once, as in a connect storm).
        start_at: monotonic instant to start connecting (``None``: at once).
        ramp_s: a stream that has no ``connected`` event this long after
            the start is given up (closed, counted as failed).
        exit_when_done: report and exit once every stream has ended.
        max_s: hard bound on the process's life after the start.
        keep_tail: bytes of the end of each stream to keep (for the final event).
    """

    port: int
    n: int
    paths: list[str]
    host: str = "127.0.0.1"
    source_ip: str = "127.0.0.1"
    connect_limit: int | None = 250
    start_at: float | None = None
    ramp_s: float = 60.0
    exit_when_done: bool = False
    max_s: float = 900.0
    keep_tail: int = 0


@dataclass
class _Record:
    request_at: float = 0.0
    first_byte_at: float | None = None
    connected_at: float | None = None
    heartbeats: list[float] = field(default_factory=list)
    trades: int = 0
    first_trades_at: float | None = None
    last_trades_at: float | None = None
    complete_at: float | None = None
    error_event: bool = False
    ended_at: float | None = None
    nbytes: int = 0
    status: int | None = None
    failure: str | None = None


class _Stream(asyncio.Protocol):
    """One SSE response, read as bytes."""

    def __init__(self, request: bytes, record: _Record, keep_tail: int) -> None:
        self.request = request
        self.record = record
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.get_running_loop().create_future()
        self.ended = asyncio.get_running_loop().create_future()
        self._carry = b""
        self._keep_tail = keep_tail
        self.tail = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        record = self.record
        if record.first_byte_at is None:
            record.first_byte_at = now
            if data.startswith(b"HTTP/1."):
                with contextlib.suppress(ValueError):
                    record.status = int(data[9:12])
        record.nbytes += len(data)
        if self._keep_tail:
            self.tail += data
            if len(self.tail) > 2 * self._keep_tail:
                del self.tail[: -self._keep_tail]
        buffer = self._carry + data
        position = buffer.find(_MARK)
        safe_end = len(buffer) - _CARRY
        consumed = 0
        while position != -1:
            line_end = buffer.find(b"\n", position + len(_MARK))
            if line_end == -1:
                break
            self._event(buffer[position + len(_MARK) : line_end].rstrip(b"\r"), now)
            consumed = line_end
            position = buffer.find(_MARK, line_end)
        self._carry = buffer[max(consumed, safe_end) :]

    def _event(self, name: bytes, now: float) -> None:
        record = self.record
        if name == b"trades":
            record.trades += 1
            if record.first_trades_at is None:
                record.first_trades_at = now
            record.last_trades_at = now
        elif name == b"heartbeat":
            record.heartbeats.append(now)
        elif name == b"connected":
            record.connected_at = now
            if not self.connected.done():
                self.connected.set_result(True)
        elif name == b"complete":
            record.complete_at = now
        elif name == b"error":
            record.error_event = True

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.record.ended_at = time.monotonic()
        if not self.connected.done():
            self.connected.set_result(False)
        if not self.ended.done():
            self.ended.set_result(None)

    def reset(self) -> None:
        """Close with a TCP reset (no TIME_WAIT left behind on the loopback ports)."""
        if self.transport is None or self.transport.is_closing():
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class _Generator:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.records = [_Record() for _ in range(job.n)]
        self.streams: list[_Stream | None] = [None] * job.n
        self.tails: list[bytes] = []
        self.ramped_at: float | None = None

    def _request(self, index: int) -> bytes:
        path = self.job.paths[index % len(self.job.paths)]
        return (
            f"GET {path} HTTP/1.1\r\nHost: {self.job.host}:{self.job.port}\r\n"
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
        ).encode()

    async def _open(self, index: int, limit: asyncio.Semaphore | None, ramp_deadline: float) -> None:
        loop = asyncio.get_running_loop()
        record = self.records[index]
        async with limit if limit is not None else contextlib.nullcontext():
            record.request_at = time.monotonic()
            remaining = ramp_deadline - record.request_at
            if remaining <= 0:
                record.failure = "ramp deadline"
                return
            stream = _Stream(self._request(index), record, self.job.keep_tail)
            try:
                async with asyncio.timeout(remaining):
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    sock.setsockopt(socket.SOL_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
                    sock.bind((self.job.source_ip, 0))
                    try:
                        await loop.sock_connect(sock, (self.job.host, self.job.port))
                    except BaseException:
                        sock.close()
                        raise
                    await loop.create_connection(lambda: stream, sock=sock)
                    self.streams[index] = stream
                    if not await stream.connected:
                        record.failure = "closed before connected"
            except TimeoutError:
                record.failure = "no connected event before the ramp deadline"
                stream.reset()
            except OSError as exc:
                record.failure = f"{type(exc).__name__}: {exc}"

    async def run(self) -> None:
        job = self.job
        loop = asyncio.get_running_loop()
        if job.start_at is not None:
            await asyncio.sleep(max(0.0, job.start_at - time.monotonic()))
        started = time.monotonic()
        limit = asyncio.Semaphore(job.connect_limit) if job.connect_limit else None
        openers = [asyncio.ensure_future(self._open(i, limit, started + job.ramp_s)) for i in range(job.n)]
        commands = asyncio.ensure_future(self._commands(loop))
        try:
            async with asyncio.timeout(job.max_s):
                await asyncio.gather(*openers)
                self.ramped_at = time.monotonic()
                connected = sum(1 for r in self.records if r.connected_at is not None)
                _emit({"event": "ramped", "started_at": started, "ramped_at": self.ramped_at,
                       "connected": connected, "failed": job.n - connected})
                if job.exit_when_done:
                    ended = [s.ended for s in self.streams if s is not None]
                    done_or_told = asyncio.ensure_future(asyncio.gather(*ended))
                    await asyncio.wait([done_or_told, commands], return_when=asyncio.FIRST_COMPLETED)
                    if done_or_told.done():
                        self._report(final=True)
                        return
                await commands
        except TimeoutError:
            self._report(final=True, note="max_s reached")
        finally:
            commands.cancel()
            for opener in openers:
                opener.cancel()
            self._reset_all()

    async def _commands(self, loop: asyncio.AbstractEventLoop) -> None:
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).strip():
            if line == b"report":
                self._report(final=False)
            elif line == b"close":
                self._reset_all()
                await asyncio.sleep(0)
                self._report(final=True)
                return
        # standard input closed: the bench is gone, so end everything.

    def _reset_all(self) -> None:
        for stream in self.streams:
            if stream is not None:
                stream.reset()

    def _report(self, *, final: bool, note: str | None = None) -> None:
        records = self.records
        report: dict[str, Any] = {
            "event": "report",
            "final": final,
            "note": note,
            "now": time.monotonic(),
            "ramped_at": self.ramped_at,
            "request_at": [r.request_at for r in records],
            "first_byte_at": [r.first_byte_at for r in records],
            "connected_at": [r.connected_at for r in records],
            "heartbeats": [r.heartbeats for r in records],
            "trades": [r.trades for r in records],
            "first_trades_at": [r.first_trades_at for r in records],
            "last_trades_at": [r.last_trades_at for r in records],
            "complete_at": [r.complete_at for r in records],
            "error_event": [r.error_event for r in records],
            "ended_at": [r.ended_at for r in records],
            "nbytes": [r.nbytes for r in records],
            "status": [r.status for r in records],
            "failures": _count(r.failure for r in records if r.failure),
        }
        if self.job.keep_tail:
            report["tails"] = [bytes(s.tail).decode("utf-8", "replace") if s else "" for s in self.streams]
        _emit(report)


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


def main() -> None:
    """Entry point: ``python -m bench.loadgen JOB_JSON``."""
    raise_open_files_limit()
    job = Job(**orjson.loads(sys.argv[1]))
    uvloop.run(_Generator(job).run())


if __name__ == "__main__":
    main()
