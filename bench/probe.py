"""Small blocking HTTP calls the bench makes to the processes it runs (stdlib only)."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import Any

import orjson

__all__ = ["free_port", "request_json", "wait_until_ready"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_json(url: str, *, method: str = "GET", body: Any = None, timeout_s: float = 10.0) -> Any:
    """``method url`` with an optional JSON body; the decoded JSON answer.

    Raises:
        urllib.error.URLError: the request failed or the status was not 2xx.
        OSError: the connection failed or timed out.
    """
    data = None if body is None else orjson.dumps(body)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        raw = response.read()
    return orjson.loads(raw) if raw else None


def wait_until_ready(url: str, timeout_s: float, *, alive: Any = None) -> None:
    """Poll ``GET url`` until it answers 200 (every 0.1 s, at most ``timeout_s``).

    ``alive`` (a callable) is checked between polls: a process that died
    fails at once instead of at the deadline.

    Raises:
        TimeoutError: no 200 in time, or ``alive()`` turned false.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise TimeoutError(f"the process behind {url} exited")
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                response.read()
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f} s")
