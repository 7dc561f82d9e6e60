"""``walletdoctor probe`` as a process: against the server, through nginx as config/ recommends,
and through an nginx that buffers.

The stream probed is made slow and quiet on purpose, as a wallet's history
is while Helius answers slowly: parse requests one at a time with 0.6 s of
emulator latency each (about 3.5 s in all), one ``trades`` event at the end (``batch_size=1000``),
and heartbeats every 0.2 s in between. Its small events are exactly what a
buffering proxy holds back.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from tests.conftest import Emulator, ServerFactory
from tests.nginx import NginxFactory

_ROOT = Path(__file__).resolve().parents[2]

#: What a minimal nginx site gets wrong for streams: nginx's defaults (HTTP/1.0
#: to the upstream, so the body is not chunked and nginx passes on only full
#: buffers) with buffering forced on, X-Accel-Buffering ignored.
BUFFERING_SITE = """\
upstream walletdoctor {
    server 127.0.0.1:8080;
}
server {
    listen 80;
    location / {
        proxy_pass http://walletdoctor;
        proxy_buffering on;
        proxy_ignore_headers X-Accel-Buffering;
    }
}
"""


async def _slow_stream(emulator: Emulator, walletdoctor: ServerFactory) -> tuple[str, str]:
    """Start the server; returns its base URL and the path of a slow, quiet stream (~3.5 s)."""
    wallet = emulator.synthetic("probe-slow", 1100)
    emulator.settings.update({"enhanced_latency_s": 0.6, "latency_jitter": 0.0})
    base = await walletdoctor(parse_window=1, heartbeat_s=0.2)
    return base, f"/v4/wallet/{wallet}/stream?batch_size=1000"


async def probe(url: str, json_path: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    """Run ``python -m walletdoctor probe`` on ``url``; returns exit status, printed report, JSON report."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "walletdoctor",
        "probe",
        url,
        "--json",
        str(json_path),
        *extra,
        cwd=_ROOT,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode(), orjson.loads(json_path.read_bytes())


def _assert_fit(status: int, output: str, report: dict[str, Any]) -> None:
    assert status == 0, output
    assert report["verdict"] == "fit" and report["reasons"] == []
    (stream,) = report["streams"]
    assert stream["end"] == "complete" and stream["trades"] == stream["final"]["trades_found"] > 0
    assert stream["buffering"]["detected"] is False and stream["buffering"]["method"] == "server timestamps"
    assert stream["heartbeat"]["count"] >= 3 and stream["heartbeat"]["regular"] is True
    assert stream["gaps"]["within_threshold"] == 1.0 and stream["gaps"]["max_s"] < 2
    assert 0 < stream["ttfb_s"] <= stream["first_event_s"] < 2
    assert "verdict: fit for streaming" in output


async def test_probe_against_the_server_directly(emulator: Emulator, walletdoctor: ServerFactory, tmp_path: Path) -> None:
    base, path = await _slow_stream(emulator, walletdoctor)
    _assert_fit(*await probe(base + path, tmp_path / "direct.json"))


async def test_probe_through_nginx_as_recommended(
    emulator: Emulator, walletdoctor: ServerFactory, nginx_proxy: NginxFactory, tmp_path: Path
) -> None:
    base, path = await _slow_stream(emulator, walletdoctor)
    nginx = await nginx_proxy(base)
    status, output, report = await probe(nginx.url + path, tmp_path / "nginx.json")
    _assert_fit(status, output, report)
    assert "[error]" not in nginx.error_log


async def test_probe_through_a_buffering_nginx_is_not_fit(
    emulator: Emulator, walletdoctor: ServerFactory, nginx_proxy: NginxFactory, tmp_path: Path
) -> None:
    base, path = await _slow_stream(emulator, walletdoctor)
    nginx = await nginx_proxy(base, site=BUFFERING_SITE)
    status, output, report = await probe(nginx.url + path, tmp_path / "buffered.json")

    assert status == 1, output
    assert report["verdict"] == "not fit" and report["buffering_detected"] is True
    (stream,) = report["streams"]
    # The stream itself got through whole: only its timing is wrong.
    assert stream["end"] == "complete" and stream["trades"] == stream["final"]["trades_found"] > 0
    buffering = stream["buffering"]
    assert buffering["detected"] is True and buffering["method"] == "server timestamps"
    assert buffering["max_delay_s"] > 2 and buffering["delayed_events"] >= 1
    assert any(reason.startswith("buffering:") for reason in report["reasons"])
    assert "verdict: NOT fit for streaming" in output and "buffering:" in output


async def test_probe_with_concurrent_streams_and_a_refusal(emulator: Emulator, walletdoctor: ServerFactory, tmp_path: Path) -> None:
    wallet = emulator.synthetic("probe-concurrent", 200)
    base = await walletdoctor(max_streams_per_key=2)
    status, output, report = await probe(f"{base}/v4/wallet/{wallet}/stream", tmp_path / "three.json", "--concurrency", "3")
    # Two slots for this caller: the third stream is refused with 429 TOO_MANY_STREAMS.
    ends = sorted(s["end"] for s in report["streams"])
    assert status == 1, output
    assert ends == ["complete", "complete", "refused"]
    (refused,) = [s for s in report["streams"] if s["end"] == "refused"]
    assert refused["status"] == 429 and "TOO_MANY_STREAMS" in refused["detail"]
    assert any(reason.startswith("stream ") and "HTTP 429" in reason for reason in report["reasons"])
