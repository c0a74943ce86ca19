"""Headless Chromium (Debian's package) driven by Playwright's Python API; no browser download.

When Chromium is missing the browser tests are skipped, except where
PAYDECK_REQUIRE_BROWSER=1 or CI is set: then they fail, so CI can never
pass without having run them. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    return os.environ.get("PAYDECK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
async def chromium():
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("PAYDECK_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(message + "; browser tests are required here")
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class OffHostRequests(list):
    """Every request the page made to a host other than 127.0.0.1/localhost."""


@pytest.fixture
async def page(chromium, base_url) -> AsyncIterator:
    context = await chromium.new_context(viewport={"width": 1360, "height": 860})
    page = await context.new_page()
    off_host = OffHostRequests()

    def check(request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1", "localhost"):
            off_host.append(request.url)

    page.on("request", check)
    page.off_host_requests = off_host  # type: ignore[attr-defined]
    # What the Content-Security-Policy refused: Chromium reports each refusal on the console.
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.csp_violations = violations  # type: ignore[attr-defined]
    yield page
    await context.close()
    assert violations == [], f"the Content-Security-Policy refused something the page needs: {violations}"


async def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
