"""Fixtures of the security tests: Redis addresses that do not answer, and a spare API key."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from walletdoctor.security import create_key


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_redis_url() -> str:
    """A Redis URL whose port refuses connections (Redis down)."""
    return f"redis://127.0.0.1:{_closed_port()}/0"


@pytest.fixture
async def silent_redis_url() -> AsyncIterator[str]:
    """A Redis URL whose server accepts connections and never answers (Redis hung)."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # until the client gives up and closes

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def api_key() -> tuple[str, str]:
    """A fresh ``(key, "sha256:<hex>")`` pair."""
    return create_key()


@pytest.fixture(params=["refused", "silent"])
def down_redis_url(request: pytest.FixtureRequest) -> str:
    """Redis down, both ways: a closed port, then a server that never answers."""
    name = "closed_redis_url" if request.param == "refused" else "silent_redis_url"
    return str(request.getfixturevalue(name))
