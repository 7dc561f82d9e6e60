"""A real browser's EventSource across a cut connection: it resumes by itself, nothing lost or repeated."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.browser import async_chromium
from tests.conftest import Emulator, ServerFactory, read_stream
from tests.resilience.proxy import FaultProxy

#: Records every event a plain EventSource dispatches, as a page would see it.
_LISTEN = """
const url = arguments[0];
window.__events = [];
window.__networkErrors = 0;
const source = new EventSource(url);
for (const name of ["connected", "progress", "trades", "heartbeat", "complete", "error"]) {
  source.addEventListener(name, (event) => {
    if (!(event instanceof MessageEvent)) return;
    window.__events.push({type: name, id: event.lastEventId, data: event.data});
    if (name === "complete") source.close();
  });
}
source.onerror = (event) => { if (!(event instanceof MessageEvent)) window.__networkErrors += 1; };
window.__source = source;
"""


async def test_chromium_resumes_a_cut_stream_with_last_event_id(
    emulator: Emulator, walletdoctor: ServerFactory, tmp_path: Path
) -> None:
    wallet = emulator.synthetic("browser-resume", 2000)
    emulator.settings.update({"enhanced_latency_s": 0.15, "rpc_latency_s": 0.02})
    base = await walletdoctor(retry_ms=300, parse_window=2)
    path = f"/v4/wallet/{wallet}/stream?batch_size=50"
    reference = [t["signature"] for t in (await read_stream(base + path)).trades()]
    host, port = base.removeprefix("http://").split(":")
    async with FaultProxy(host, int(port)) as proxy, async_chromium(tmp_path / "profile") as browser:
        # The live page: same origin as the stream, and its CSP allows connect-src 'self'.
        await browser.open(proxy.url + "/")
        await browser.run(_LISTEN, proxy.url + path)
        await browser.wait_for("return window.__events.filter((e) => e.type === 'trades').length >= 3", timeout_s=30, poll_s=0.05)
        await proxy.handoff(1.0)  # cut mid-stream; connections refused for a second
        await browser.wait_for("return window.__events.some((e) => e.type === 'complete')", timeout_s=60)
        events = await browser.run("return window.__events")
        network_errors = await browser.run("return window.__networkErrors")

    connected = [orjson.loads(e["data"]) for e in events if e["type"] == "connected"]
    assert len(connected) >= 2 and proxy.counters.cut >= 1 and network_errors >= 1
    assert connected[0]["resumed"] is False and all(c["resumed"] for c in connected[1:]), "the browser sent Last-Event-ID"
    assert len({c["stream_id"] for c in connected}) == 1
    signatures = [t["signature"] for e in events if e["type"] == "trades" for t in orjson.loads(e["data"])["trades"]]
    assert signatures == reference, "exactly the wallet's trades, in order, none twice"
    positions = [int(e["id"].rsplit(":", 1)[1]) for e in events if e["type"] != "heartbeat"]
    assert positions == sorted(positions), "ids never go back"
    complete = orjson.loads(next(e["data"] for e in events if e["type"] == "complete"))
    assert complete["trades_found"] == len(reference)
