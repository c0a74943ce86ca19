"""The verifier finds every wrong number, to the minor unit, and a rebuild puts it right; the command says so."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from server import db
from server.analytics import verify
from server.context import Scope
from tests.analytics.helpers import caught_up
from tests.factories import new_account
from tests.payments.helpers import Merchant

PAYDECK = Path(sys.executable).parent / "paydeck"


async def _merchant_with_traffic(http) -> tuple[Merchant, datetime]:
    merchant = Merchant(http, await new_account())
    since = datetime.now(UTC) - timedelta(hours=1)
    paid = await merchant.paid(10_000)
    await merchant.paid(2_500, number="4000000000009995")  # declined
    assert (await merchant.post("/v1/refunds", {"payment_intent": paid["id"], "amount": 1_500})).status_code == 200
    await caught_up()
    return merchant, since


async def test_a_wrong_rollup_is_reported_to_the_minor_unit_and_rebuilt(http):
    merchant, since = await _merchant_with_traffic(http)
    assert await verify.verify(since, account_id=merchant.id) == []

    await db.execute("UPDATE analytics_rollups SET gross_amount = gross_amount + 1, "
                     "decline_codes = decline_codes || '{\"made_up\": 2}'::jsonb "
                     "WHERE account_id = $1 AND currency = 'USD' AND gross_amount > 0", merchant.id)
    await db.execute("DELETE FROM analytics_api_rollups WHERE account_id = $1 AND endpoint = 'POST /v1/refunds'",
                     merchant.id)
    found = {(d.kind, d.column, d.stored, d.expected)
             for d in await verify.verify(since, account_id=merchant.id, settle_rounds=1)}
    assert found == {("rollup", "gross_amount", 10_001, 10_000), ("rollup", "decline_codes[made_up]", 2, 0),
                     ("api", "requests", 0, 1), ("api", "status_2xx", 0, 1), ("api", next(
                         c for k, c, _, _ in found if c.startswith("latency[")), 0, 1)}

    rebuilt = await verify.rebuild(since, account_id=merchant.id)
    assert {r.scope.livemode for r in rebuilt} == {False} and rebuilt[0].facts == 3  # two payments, one refund
    assert await verify.verify(since, account_id=merchant.id) == []


async def test_every_level_is_checked_against_the_sources(http):
    merchant, since = await _merchant_with_traffic(http)
    await db.execute("UPDATE analytics_rollups_hourly SET succeeded = succeeded + 2 WHERE account_id = $1 "
                     "AND succeeded > 0", merchant.id)
    await db.execute("UPDATE analytics_api_rollups_daily SET requests = requests - 1 WHERE account_id = $1 "
                     "AND endpoint = 'POST /v1/refunds'", merchant.id)
    window = (datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) + timedelta(days=2))  # whole days
    found = {(d.kind, d.column, d.stored - d.expected)
             for d in await verify.verify(window[0], window[1], account_id=merchant.id, settle_rounds=1)}
    assert found == {("rollup hourly", "succeeded", 2), ("api daily", "requests", -1)}
    await verify.rebuild(*window, account_id=merchant.id)
    assert await verify.verify(*window, account_id=merchant.id) == []


async def test_a_source_that_disagrees_with_the_ledger_is_reported(http):
    merchant, since = await _merchant_with_traffic(http)
    await db.execute("UPDATE payment_intents SET fee = fee + 7 WHERE account_id = $1 AND status = 'succeeded'",
                     merchant.id)
    window = (datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) + timedelta(days=2))  # whole days
    found = {(d.kind, d.column, d.stored - d.expected)
             for d in await verify.verify(*window, account_id=merchant.id, settle_rounds=1)}
    # The rollups (every level) counted the fee the ledger posted; the tampered row now claims 7 more.
    assert found == {(kind, column, sign * 7) for kind in ("rollup", "rollup hourly", "rollup daily", "ledger")
                     for column, sign in (("fee_amount", -1), ("net_amount", 1))}


async def test_a_rebuild_keeps_what_events_change_later(http):
    """A rebuild counts objects as they are; events about them that come after move them on from there."""
    merchant, since = await _merchant_with_traffic(http)
    scope = Scope(merchant.id, False)
    await verify.rebuild_scope(scope, since, datetime.now(UTC) + timedelta(minutes=15))
    paid = await merchant.paid(3_000)
    assert (await merchant.post("/v1/refunds", {"payment_intent": paid["id"]})).status_code == 200
    await caught_up()
    assert await verify.differences(scope, since, datetime.now(UTC) + timedelta(minutes=15)) == []


async def _paydeck(infrastructure, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": infrastructure["database_url"], "REDIS_URL": infrastructure["redis_url"]}
    proc = await asyncio.create_subprocess_exec(str(PAYDECK), *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_the_command_prints_each_difference_and_rebuilds(infrastructure, http):
    merchant, since = await _merchant_with_traffic(http)
    args = ["analytics", "verify", "--since", since.isoformat(), "--account", merchant.id]
    code, out, _ = await _paydeck(infrastructure, *args)
    assert (code, out.strip()) == (0, f"no differences since {since:%Y-%m-%d %H:%M} UTC")

    await db.execute("UPDATE analytics_rollups SET refund_amount = refund_amount - 1500 WHERE account_id = $1 "
                     "AND refund_amount > 0", merchant.id)
    code, out, err = await _paydeck(infrastructure, *args)
    assert code == 1 and "1 differences" in err
    assert out.strip().endswith("rollup USD refund_amount: rollup 0, source 1500 (off by -1500)"), out

    code, out, _ = await _paydeck(infrastructure, *args, "--rebuild")
    assert code == 0 and f"rebuilt {merchant.id} test: " in out and "no differences" in out
    code, _, err = await _paydeck(infrastructure, "analytics", "verify", "--since", "yesterday")
    assert code == 2 and "--since" in err
