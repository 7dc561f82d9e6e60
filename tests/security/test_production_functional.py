"""Two ``walletdoctor serve`` processes in production configuration, sharing one real Redis.

The deployment of DESIGN section 5, started for real: API keys (one made by
``walletdoctor keys create``; hashes in ``API_KEYS`` and in a keys file),
``ENV=production``, a Helius emulator process standing in for Helius, and
both servers on one ``redis-server``. Issue 4's acceptance: the 51st request
of a key in a minute is refused although the requests were spread over the
two processes; the 11th concurrent stream is refused whichever process it
asks, and admitted again when one ends; the slots of a killed process come
back when its leases expire; every way of passing a key works and a wrong
or missing key gets 401; and the JSON logs of whole streams hold no key.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import orjson
import pytest
import redis

from tests.conftest import REAL_WALLET, read_stream, wallet_address
from tests.servers import Process, clean_environment, start_emulator_process, start_serve_process
from walletdoctor.security import create_key, hash_key, key_id
from walletdoctor.security.keys import is_well_formed

#: Short, so that the test of a killed process waits seconds, not the default 30 s.
LEASE_TTL_S = 3.0
#: A valid address the emulator knows nothing about: its history is empty, so its stream ends at once.
EMPTY_WALLET = wallet_address("production-empty")
ORIGIN = "https://app.example"


@dataclass(frozen=True)
class Deployment:
    emulator: Process
    servers: tuple[Process, Process]
    redis_url: str
    #: Keys, each test its own: (key, hash line).
    keys: dict[str, tuple[str, str]]
    environment: dict[str, str]


def _create_key(tmp: Path) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "walletdoctor", "keys", "create"],
        env=clean_environment(),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key, hash_line = result.stdout.splitlines()
    assert is_well_formed(key) and hash_line == hash_key(key)
    assert "shown only this once" in result.stderr and key not in result.stderr
    return key, hash_line


@pytest.fixture(scope="module")
def deployment(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("production")
    # One key through the command operators use; the rest the same way in-process (each command start costs 1-2 s).
    keys = {"auth": _create_key(tmp)} | {name: create_key() for name in ("rate", "streams", "crash", "logs")}
    # Both key sources at once: some hashes in API_KEYS, the others in the keys file.
    in_file = ["streams", "crash", "logs"]
    keys_file = tmp / "api-keys"
    keys_file.write_text("# made by walletdoctor keys create\n" + "".join(f"{keys[n][1]}\n" for n in in_file))
    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    emulator = start_emulator_process(tmp / "emulator.log", "--rpc-latency", "0", "--enhanced-latency", "0")
    environment = {
        "ENV": "production",
        "HELIUS_API_KEY": "emulator-key",
        "HELIUS_API_URL": emulator.url,
        "HELIUS_RPC_URL": emulator.url,
        "API_KEYS": ",".join(keys[n][1] for n in keys if n not in in_file),
        "API_KEYS_FILE": str(keys_file),
        "ALLOWED_ORIGINS": ORIGIN,
        "REDIS_URL": redis_server,
        "STREAM_LEASE_TTL_S": str(LEASE_TTL_S),
        "LOG_LEVEL": "DEBUG",
    }
    servers: list[Process] = []
    try:
        for name in ("a", "b"):
            servers.append(start_serve_process(tmp / name / "serve.log", **environment))
        yield Deployment(emulator, (servers[0], servers[1]), redis_server, keys, environment)
    finally:
        for process in (*servers, emulator):
            process.stop()


@pytest.fixture(autouse=True)
def _all_running(deployment: Deployment) -> None:
    """Each test starts with every process of the deployment alive (else: which one died, and its log)."""
    for process in (deployment.emulator, *deployment.servers):
        code = process.popen.poll()
        assert code is None, f"{process.log} exited with {code}: {process.log.read_text()[-3000:]}"


def _stream_url(server: Process, wallet: str = EMPTY_WALLET) -> str:
    return f"{server.url}/v4/wallet/{wallet}/stream"


async def _full_stream(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[int, list[str], dict]:
    """Read a response to its end: (status, SSE event names, JSON body of a refusal)."""
    async with client.stream("GET", url, headers=headers) as response:
        body = await response.aread()
    if response.status_code != 200:
        return response.status_code, [], orjson.loads(body) | {"retry_after": response.headers.get("Retry-After")}
    names = [line[7:] for line in body.decode().splitlines() if line.startswith("event: ")]
    return 200, names, {}


def _lease_key(key: tuple[str, str]) -> str:
    return f"walletdoctor:leases:key:{key_id(key[1])}"


async def test_each_way_of_passing_a_key_works_and_a_wrong_or_missing_key_gets_401(deployment: Deployment) -> None:
    key, _ = deployment.keys["auth"]
    server = deployment.servers[0]
    url = _stream_url(server)
    async with httpx.AsyncClient(timeout=30) as client:
        for headers, query in (
            ({"Authorization": f"Bearer {key}"}, ""),
            ({"X-API-Key": key}, ""),
            ({}, f"?api_key={key}"),
        ):
            status, events, _ = await _full_stream(client, url + query, headers)
            assert (status, events[0], events[-1]) == (200, "connected", "complete"), headers or query

        wrong, _ = create_key()
        for headers, query, reason in (
            ({"Authorization": f"Bearer {wrong}"}, "", "invalid"),
            ({"X-API-Key": "wd_short"}, "", "invalid"),
            ({}, f"?api_key={wrong}", "invalid"),
            ({}, "", "missing"),
            ({"Authorization": f"Basic {key}"}, "", "missing"),  # only the Bearer scheme carries a key
        ):
            status, _, body = await _full_stream(client, url + query, headers)
            assert status == 401, (headers, query)
            assert body["code"] == "UNAUTHORIZED" and body["details"] == {"reason": reason}
            assert wrong not in str(body) and key not in str(body)
        health = await client.get(f"{server.url}/health")
        assert health.status_code == 200, "liveness needs no key"


async def test_the_51st_request_in_a_minute_is_refused_across_two_processes(deployment: Deployment) -> None:
    key, _ = deployment.keys["rate"]
    headers = {"X-API-Key": key}
    first, second = deployment.servers
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(50):
            status, events, _ = await _full_stream(client, _stream_url(second if i % 2 else first), headers)
            assert status == 200 and events[-1] == "complete", f"request {i + 1}"
        assert time.monotonic() - started < 50, "all 50 fit in the first minute"
        for server in (first, second):
            status, _, body = await _full_stream(client, _stream_url(server), headers)
            assert status == 429, "each process saw only 25 requests: the count is shared"
            assert body["code"] == "RATE_LIMIT" and body["retryable"] is True
            assert 1 <= int(body["retry_after"]) <= 60 and body["details"]["retry_after_s"] == int(body["retry_after"])
        # Another key has its own window.
        status, _, _ = await _full_stream(client, _stream_url(first), {"X-API-Key": deployment.keys["auth"][0]})
        assert status == 200


class Streams:
    """Open SSE streams held open, each read up to its ``connected`` event."""

    def __init__(self, stack: AsyncExitStack, session: aiohttp.ClientSession, key: str) -> None:
        self._stack = stack
        self._session = session
        self._headers = {"Authorization": f"Bearer {key}"}
        self.open: list[aiohttp.ClientResponse] = []

    async def request(self, server: Process) -> aiohttp.ClientResponse:
        """Ask ``server`` for a stream; a 200 is kept open (in :attr:`open`) once ``connected`` arrived."""
        response = await self._session.get(_stream_url(server), headers=self._headers)
        if response.status != 200:
            await response.read()
            response.release()
            return response
        self._stack.push_async_callback(_close, response)
        async with asyncio.timeout(10):
            async for line in response.content:
                if line.startswith(b"event: connected"):
                    break
        self.open.append(response)
        return response


async def _close(response: aiohttp.ClientResponse) -> None:
    response.close()


@pytest.fixture
async def slow_upstream(deployment: Deployment) -> AsyncIterator[None]:
    """The emulator answers signature listings after 60 s: every stream stays open until closed."""
    url = f"{deployment.emulator.url}/_emulator/settings"
    async with httpx.AsyncClient() as client:
        (await client.patch(url, json={"rpc_latency_s": 60.0, "latency_jitter": 0.0})).raise_for_status()
        try:
            yield
        finally:
            (await client.patch(url, json={"rpc_latency_s": 0.0})).raise_for_status()


async def _wait_for_leases(client: redis.Redis, name: str, count: int, within_s: float) -> float:
    """Poll Redis until ``name`` holds ``count`` unexpired leases; returns the seconds it took."""
    started = time.monotonic()
    while True:
        client.zremrangebyscore(name, "-inf", int(time.time() * 1000))
        if client.zcard(name) == count:
            return time.monotonic() - started
        assert time.monotonic() - started < within_s, f"{name} still holds {client.zcard(name)} leases"
        await asyncio.sleep(0.05)


async def test_the_11th_concurrent_stream_is_refused_on_either_process_and_admitted_when_one_ends(
    deployment: Deployment, slow_upstream: None
) -> None:
    key = deployment.keys["streams"]
    first, second = deployment.servers
    async with AsyncExitStack() as stack, aiohttp.ClientSession() as session:
        streams = Streams(stack, session, key[0])
        for i in range(10):
            assert (await streams.request(second if i % 2 else first)).status == 200, f"stream {i + 1}"
        for server in (first, second):
            refused = await streams.request(server)
            assert refused.status == 429 and refused.headers["Retry-After"] == "10"
        with redis.Redis.from_url(deployment.redis_url) as client:
            assert client.zcard(_lease_key(key)) == 10
            streams.open.pop(0).close()  # a stream on the first process ends: its client leaves
            await _wait_for_leases(client, _lease_key(key), 9, within_s=5)
        assert (await streams.request(second)).status == 200, "the freed slot is usable on the other process"
        assert (await streams.request(first)).status == 429


async def test_a_killed_process_frees_its_stream_slots_when_its_leases_expire(
    deployment: Deployment, slow_upstream: None, tmp_path: Path
) -> None:
    key = deployment.keys["crash"]
    survivor = deployment.servers[1]
    doomed = start_serve_process(tmp_path / "doomed.log", **deployment.environment)
    try:
        async with AsyncExitStack() as stack, aiohttp.ClientSession() as session:
            streams = Streams(stack, session, key[0])
            for _ in range(10):
                assert (await streams.request(doomed)).status == 200
            doomed.kill()
            killed_at = time.monotonic()
            assert (await streams.request(survivor)).status == 429, "the dead process's leases still count"
            with redis.Redis.from_url(deployment.redis_url) as client:
                await _wait_for_leases(client, _lease_key(key), 0, within_s=LEASE_TTL_S + 2)
            freed_after = time.monotonic() - killed_at
            for _ in range(10):
                assert (await streams.request(survivor)).status == 200
            assert (await streams.request(survivor)).status == 429
    finally:
        doomed.stop()
    print(f"measured: slots of the killed process free {freed_after:.2f} s after SIGKILL (lease TTL {LEASE_TTL_S} s)")
    assert freed_after <= LEASE_TTL_S + 1


async def test_the_logs_of_whole_streams_hold_no_key(deployment: Deployment) -> None:
    """DEBUG logs of both processes over whole streams, all three ways of passing the key and a
    wrong key: JSON lines, the streams' ids on their lines, and no key anywhere, nor in /metrics."""
    key, hash_line = deployment.keys["logs"]
    wrong, _ = create_key()
    first, second = deployment.servers
    record = await read_stream(f"{_stream_url(first, REAL_WALLET)}?batch_size=500&api_key={key}")
    assert record.last.event == "complete" and len(record.trades()) > 6000
    stream_id = record.headers["X-Stream-ID"]
    async with httpx.AsyncClient(timeout=60) as client:
        for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            assert (await _full_stream(client, _stream_url(second), headers))[0] == 200
        assert (await _full_stream(client, _stream_url(second) + f"?api_key={wrong}", {}))[0] == 401
        metrics = [(await client.get(f"{server.url}/metrics")).text for server in (first, second)]

    lines = [line for server in (first, second) for line in server.log_lines()]
    records = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == len([line for line in lines if line.strip()]), "every log line is JSON"
    ours = [r for r in records if r.get("stream_id") == stream_id]
    assert any(r["event"].startswith("stream start") for r in ours)
    assert any(r["event"].startswith("stream end outcome=complete") for r in ours)
    assert any("unknown API key id=" in r["event"] for r in records), "the refusal was logged, by key id"
    assert any(r["level"] == "debug" for r in records), "DEBUG lines were written"
    for secret in (key, wrong):
        for text in (*lines, *metrics):
            assert secret not in text
    assert key_id(hash_line) not in "".join(metrics), "no key id in metric labels either"
