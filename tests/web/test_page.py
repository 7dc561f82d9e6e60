"""The page's files as shipped: no inline script or style, nothing third-party, everything referenced present."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from walletdoctor.helius.emulator.rebuild import REAL_WALLET
from walletdoctor.web.page import PAGE_CSP, STATIC_DIR, STATIC_FILES


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


def _page() -> _Collector:
    collector = _Collector()
    collector.feed((STATIC_DIR / "index.html").read_text())
    return collector


def test_no_inline_script_style_or_handler() -> None:
    page = _page()
    assert not page.inline_script
    assert all(tag != "style" for tag, _ in page.tags)
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/") and attrs.get("type") == "module", attrs


def test_every_referenced_file_is_served_and_nothing_is_third_party() -> None:
    page = _page()
    references = {attrs.get("src") or attrs.get("href") for tag, attrs in page.tags if tag in ("script", "link")}
    imports = {
        f"/static/{name}"
        for script in STATIC_DIR.glob("*.js")
        for name in re.findall(r'\bfrom "\./([\w.]+)";', script.read_text())
    }
    assert imports == {"/static/chart.js", "/static/format.js"}
    assert references | imports == {f"/static/{name}" for name in STATIC_FILES}
    assert all((STATIC_DIR / name).is_file() for name in STATIC_FILES)
    for name in [*STATIC_FILES, "index.html"]:
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{name} loads something from elsewhere"


def test_the_script_never_uses_html_sinks_or_eval() -> None:
    """The CSP requires Trusted Types: any of these would throw in the browser."""
    script = "\n".join(path.read_text() for path in STATIC_DIR.glob("*.js"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"style\""):
        assert sink not in script, sink
    assert "require-trusted-types-for 'script'" in PAGE_CSP and "'unsafe-inline'" not in PAGE_CSP


def test_the_bundled_wallet_is_offered() -> None:
    page = _page()
    (wallet,) = [attrs for tag, attrs in page.tags if tag == "input" and attrs.get("id") == "wallet"]
    assert wallet["value"] == REAL_WALLET
    assert [attrs.get("value") for tag, attrs in page.tags if tag == "option"] == [REAL_WALLET]
