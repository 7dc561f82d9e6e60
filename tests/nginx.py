"""A real nginx for tests: started on a free loopback port with a given site, in a temp dir.

nginx runs in the foreground as a child of the test (``daemon off``), as a
single process (``master_process off``: no worker to switch to another
user, so it runs as whoever runs the tests), with its pid file, error log
and temp paths in the given directory: no root paths, nothing left behind.

Usage::

    site = site_for_test(RECOMMENDED_SITE.read_text(), listen_port=free_port(), upstream="127.0.0.1:8080")
    async with running_nginx(site, tmp_path) as nginx:
        ... httpx.get(nginx.url + "/health") ...

or the ``nginx_proxy`` fixture, which stops every nginx it started after the test.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "NGINX",
    "RECOMMENDED_SITE",
    "RunningNginx",
    "nginx_proxy",
    "running_nginx",
    "site_for_test",
]

NGINX = "/usr/sbin/nginx"
#: The site config/ recommends for running WalletDoctor behind nginx.
RECOMMENDED_SITE = Path(__file__).resolve().parents[1] / "config" / "nginx" / "walletdoctor.conf"

_MAIN_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 512;
}}
http {{
    access_log {dir}/access.log;
    default_type application/octet-stream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{site}
}}
"""


def site_for_test(site: str, *, listen_port: int, upstream: str) -> str:
    """``site`` (a config/nginx site) listening on ``127.0.0.1:listen_port`` and proxying to
    ``upstream`` (``host:port``) instead of its own addresses.

    Raises:
        ValueError: the site does not have exactly one ``listen`` and one
            upstream ``server`` line to replace (its shape changed).
    """
    site, listens = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\g<1>listen 127.0.0.1:{listen_port};", site, flags=re.MULTILINE)
    site, servers = re.subn(r"^(\s*)server\s+[^\s;{]+(\s[^;]*)?;", rf"\g<1>server {upstream};", site, flags=re.MULTILINE)
    if listens != 1 or servers != 1:
        raise ValueError(f"expected one listen and one upstream server line, found {listens} and {servers}")
    return site


@dataclass(frozen=True)
class RunningNginx:
    """A started nginx: its base URL and its files."""

    url: str
    directory: Path
    process: asyncio.subprocess.Process

    @property
    def error_log(self) -> str:
        """The error log so far (empty when there is none)."""
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


@asynccontextmanager
async def running_nginx(site: str, directory: Path, *, start_timeout_s: float = 10.0) -> AsyncIterator[RunningNginx]:
    """Run nginx with ``site`` (http-context directives, already listening on a
    127.0.0.1 port) in ``directory`` until the block ends.

    Raises:
        RuntimeError: nginx is missing, rejects the config, or does not listen in time
            (the message holds its error log).
    """
    if shutil.which(NGINX) is None:
        raise RuntimeError(f"{NGINX} is not installed (make test installs it)")
    match = re.search(r"listen\s+127\.0\.0\.1:(\d+)", site)
    if match is None:
        raise RuntimeError("the site must listen on 127.0.0.1:PORT (see site_for_test)")
    port = int(match.group(1))
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(_MAIN_CONF.format(dir=directory, site=site))
    command = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    check = await asyncio.create_subprocess_exec(
        *command, "-t", "-q", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, complaint = await asyncio.wait_for(check.communicate(), timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected the config: {complaint.decode(errors='replace').strip()}")
    with (directory / "stderr.log").open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
    nginx = RunningNginx(f"http://127.0.0.1:{port}", directory, process)
    try:
        await _wait_listening(nginx, port, start_timeout_s)
        yield nginx
    finally:
        if process.returncode is None:
            process.terminate()  # SIGTERM: fast shutdown, open streams are closed
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_listening(nginx: RunningNginx, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if nginx.process.returncode is not None:
            raise RuntimeError(f"nginx exited with {nginx.process.returncode}: {nginx.error_log}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nginx did not listen on {port} within {timeout_s} s: {nginx.error_log}")


NginxFactory = Callable[..., Awaitable[RunningNginx]]


@pytest.fixture
async def nginx_proxy(tmp_path: Path) -> AsyncIterator[NginxFactory]:
    """Start nginx in front of an upstream: ``await nginx_proxy(upstream_url, site=None)``.

    ``site`` defaults to :data:`RECOMMENDED_SITE`'s text; it is pointed at
    ``upstream_url`` (``http://host:port``) and a free port with
    :func:`site_for_test`. Every nginx started is stopped after the test.
    """
    from tests.conftest import free_port

    async with AsyncExitStack() as stack:
        count = 0

        async def start(upstream_url: str, site: str | None = None) -> RunningNginx:
            nonlocal count
            count += 1
            text = site_for_test(
                RECOMMENDED_SITE.read_text() if site is None else site,
                listen_port=free_port(),
                upstream=upstream_url.removeprefix("http://").rstrip("/"),
            )
            return await stack.enter_async_context(running_nginx(text, tmp_path / f"nginx-{count}"))

        yield start
