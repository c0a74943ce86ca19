"""The Reports page: a run shows its progress live, then its CSV downloads; a balance summary of last month,
asked from the form over the demo history, downloads and ties (starting + activity = ending)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from server import clock
from server.analytics import backfill
from server.context import Scope
from server.ledger.money import exponent
from server.reporting import queries, runner, service
from tests.browser.conftest import screenshot
from tests.browser.test_analytics_browser import _login
from tests.factories import new_account, user_ctx
from tests.reporting.helpers import minor
from tests.reporting.test_runner import _pending
from tests.support import eventually


async def _download(page, selector: str) -> list[dict[str, str]]:
    async with page.expect_download() as info:
        await page.click(selector)
    download = await info.value
    path = await download.path()
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))  # noqa: ASYNC240 - a small file


async def test_a_run_shows_progress_then_downloads(page, base_url):
    account = await new_account(name="Browser Reports Shop", timezone="Europe/Paris")
    owner = user_ctx(account.account["id"], account.user["id"])
    written = await backfill.backfill_demo(owner)
    assert written is not None and written.payments > 1000
    assert await service.make_statements() >= 4  # what the monthly job does: 90 days hold two closed months
    await _login(page, base_url, account.user["email"])

    # A run a worker (this test) holds: the page shows how far it has got, updating by itself.
    held = None
    while held is None:  # the app's worker polls too: claim the run before it does
        run = await _pending(Scope(account.account["id"], False), "payments.itemized")
        held = await queries.claim_next(clock.now(), runner.LEASE, run.id)
    await page.goto(f"{base_url}/reports")
    row = page.locator(f"[data-run='{held.id}']")
    assert await row.get_attribute("data-status") == "pending"
    await queries.heartbeat(held, 400, 1_000, clock.now() + runner.LEASE)
    await page.wait_for_function(f"() => document.querySelector(\"[data-run='{held.id}'] progress\")?.value == 0.4")
    assert "400 of 1,000 rows" in (await row.text_content() or "")
    await screenshot(page, "reports-run-in-progress")

    await runner.make(held)  # the worker finishes: the row turns into a download without a reload
    await page.wait_for_selector(f"[data-run='{held.id}'][data-status=succeeded] [data-testid=download]")
    rows = await _download(page, f"[data-run='{held.id}'] [data-testid=download]")
    assert len(rows) == int((await row.locator("td.num").text_content() or "").replace(",", "")) > 0
    assert {r["status"] for r in rows} >= {"succeeded"}

    # Last month's balance summary, asked from the form, made by the app's own worker.
    await page.select_option("[data-testid=report-type]", "balance.summary")
    await page.select_option("[data-testid=period]", "last_month")
    await page.click("[data-testid=run-report]")
    summary_row = page.locator("[data-testid=runs] tbody tr").first
    await page.wait_for_selector("[data-testid=runs] tbody tr:first-child[data-status=succeeded]", timeout=30_000)
    assert "balance.summary" in (await summary_row.text_content() or "")
    statements = page.locator("[data-testid=statements] tbody tr[data-month]")
    # This account's statements are made here, as a worker would: the app's worker has every account's batch
    # from make_statements() ahead of them (a long session holds hundreds of accounts).
    for made in await queries.list_runs(Scope(account.account["id"], False), None, 100, statements=True):
        await runner.run_once(made.id)

    async def statements_made() -> bool:  # statement runs are made in the background like any other
        await page.reload()
        links = await page.locator("[data-testid=statements] tr[data-month] a").count()
        return await statements.count() >= 2 and links == 2 * await statements.count()

    await eventually(statements_made, timeout=30, message="the monthly statements' files")
    await screenshot(page, "reports-balance-summary-succeeded")
    rows = await _download(page, "[data-testid=runs] tbody tr:first-child [data-testid=download]")
    by: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for r in rows:
        by[(r["balance"], r["currency"])][r["category"]] = minor(r["amount"], exponent(r["currency"]))
    merchant = [figures for (balance, _), figures in by.items() if balance == "merchant"]
    assert merchant and any(f["charges"] > 0 for f in merchant)
    for figures in by.values():
        moved = sum(v for k, v in figures.items() if k not in ("starting_balance", "ending_balance"))
        assert figures["starting_balance"] + moved == figures["ending_balance"]

    # Test mode is unmistakable here too; live mode has no runs of test mode.
    await page.click("[data-testid=mode-toggle]")
    await page.wait_for_load_state("networkidle")
    await page.goto(f"{base_url}/reports")
    assert await page.locator(f"[data-run='{held.id}']").count() == 0
    await screenshot(page, "reports-live-mode-empty")
    assert page.off_host_requests == []  # type: ignore[attr-defined]
