"""The live page in a real headless Chromium: the bundled wallet streamed to its end."""

from __future__ import annotations

from pathlib import Path

from tests.browser import async_chromium
from tests.conftest import REAL_WALLET, ServerFactory

#: Screenshots for people to look at; the directory is gitignored.
TEST_OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "web"

_FINISHED = "const s = document.body.dataset.state; return (s === 'complete' || s === 'error') ? s : null"


async def test_the_page_streams_the_bundled_wallet_to_the_end(walletdoctor: ServerFactory, tmp_path: Path) -> None:
    base = await walletdoctor()
    async with async_chromium(tmp_path / "profile") as browser:
        await browser.open(f"{base}/")
        assert await browser.run("return document.getElementById('wallet').value") == REAL_WALLET
        await browser.run("document.getElementById('start').click()")
        state = await browser.wait_for(_FINISHED, timeout_s=60)
        detail = await browser.run("return document.getElementById('state-detail').textContent")
        assert state == "complete", detail

        trades_found = await browser.run("return Number(document.getElementById('summary').dataset.tradesFound)")
        rows = await browser.run("return document.querySelectorAll('#trades-body tr').length")
        signatures = await browser.run(
            "return new Set([...document.querySelectorAll('#trades-body tr')].map((r) => r.dataset.signature)).size"
        )
        assert rows == signatures == trades_found > 6000
        assert await browser.run("return document.getElementById('trade-count').textContent") == f"{trades_found:,}"
        assert await browser.run("return document.getElementById('progress').value") == 100
        # Oldest first with prices: realized P&L is known as sales arrive, and the chart shows it.
        points = await browser.run("const p = document.querySelector('#chart polyline.pnl'); return p ? p.points.length : 0")
        assert points > 100
        assert await browser.run("return document.getElementById('summary').hidden") is False
        assert await browser.run("return document.querySelectorAll('#tokens-body tr').length") > 0

        shot = await browser.screenshot(TEST_OUTPUT / "live-page-complete.png")
        assert shot.read_bytes().startswith(b"\x89PNG")
        assert await browser.csp_violations() == []
        assert await browser.console_errors() == []
