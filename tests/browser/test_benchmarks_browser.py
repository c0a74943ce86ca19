"""The Benchmarks page in a real browser: each metric's chart draws the cohort's band and the seller's marker."""

from __future__ import annotations

from server.benchmarks import periods
from tests.benchmarks.helpers import Mix, fresh_month, owner, release, sellers
from tests.browser.conftest import screenshot
from tests.browser.test_foundation_browser import log_in

# Pixels of one chart's canvas: how many are the accent (the seller's marker) and how many the band's fill.
COUNT_PIXELS = """(el) => {
  const canvas = el.querySelector("canvas");
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const hex = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  const accent = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const near = (i, rgb, tolerance) => rgb.every((c, k) => Math.abs(data[i + k] - c) <= tolerance);
  let marker = 0, band = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && near(i, accent, 12)) marker += 1;
    else if (data[i + 3] > 25 && data[i + 3] < 60 && near(i, [107, 114, 128], 12)) band += 1;
  }
  return { marker, band };
}"""


async def test_the_page_draws_the_band_and_the_seller_s_marker(page, base_url):
    month = fresh_month()
    await sellers(month, [Mix(succeeded=20, failed=1, abandoned=1 + i % 17, amount=1_000 + 37 * i)
                          for i in range(24)])
    account, _ = await owner(month, Mix(succeeded=20, failed=1, abandoned=3))
    await release(month)
    await log_in(page, base_url, account.user["email"])
    await page.goto(f"{base_url}/benchmarks?period={periods.label(month)}")
    chart = page.locator("[data-testid=metric-conversion_rate] .bench-chart")
    await chart.locator("canvas").wait_for()
    await page.wait_for_load_state("networkidle")

    pixels = await chart.evaluate(COUNT_PIXELS)
    assert pixels["marker"] > 20, f"the seller's marker is not drawn: {pixels}"
    assert pixels["band"] > 500, f"the cohort's p25-p75 band is not drawn: {pixels}"
    card = page.locator("[data-testid=metric-conversion_rate]")
    assert "percentile" in await card.locator("[data-testid=sentence]").inner_text()
    assert "Middle half" in await card.inner_text()
    assert "Retail · Europe" in await page.locator("[data-testid=cohort]").inner_text()
    assert "20+ sellers" in await page.locator("[data-testid=size-bucket]").inner_text()
    assert "ε" in await page.locator("[data-testid=privacy-note]").inner_text()
    # the count and five metrics: with no month before, the seller has no growth and spent nothing on it
    assert await page.locator("[data-testid=budget-ledger] tbody tr").count() == 6
    await screenshot(page, "benchmarks-page")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
