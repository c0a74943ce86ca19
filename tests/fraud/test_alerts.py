"""The block-rate alert: fires once when the last hour's blocks cross the threshold, and the dashboard shows it."""

from __future__ import annotations

from server import db
from server.settings import get_settings
from tests.factories import gql, login
from tests.fraud.helpers import FRAUD_CARD, confirm
from tests.payments.helpers import merchant
from tests.support import eventually


async def test_crossing_the_block_rate_fires_one_alert_and_a_banner(http, base_url, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "radar_alert_min_evaluations", 6)
    monkeypatch.setattr(settings, "radar_alert_block_rate", 0.5)
    m = await merchant(http)
    for _ in range(4):
        await confirm(m, 1000)
    await confirm(m, 1000, FRAUD_CARD)
    await confirm(m, 1000, FRAUD_CARD)  # 2 of 6 blocked: under the threshold
    assert await db.fetch("SELECT 1 FROM events WHERE account_id = $1 AND type = 'radar.block_rate.exceeded'",
                          m.id) == []
    for _ in range(3):
        await confirm(m, 1000, FRAUD_CARD)  # the 4th block makes 4 of 8: at the threshold
    fired = await eventually(lambda: db.fetch("SELECT data FROM events WHERE account_id = $1 "
                                              "AND type = 'radar.block_rate.exceeded'", m.id),
                             message="the alert event")
    assert len(fired) == 1
    alert = fired[0]["data"]
    assert (alert["blocked"], alert["evaluated"], alert["threshold"]) == (4, 8, 0.5)
    for _ in range(3):
        await confirm(m, 1000, FRAUD_CARD)  # still above: no second alert within the hour
    assert len(await db.fetch("SELECT 1 FROM events WHERE account_id = $1 AND type = 'radar.block_rate.exceeded'",
                              m.id)) == 1
    shown = await gql(http, "{ radarAlert { blocked evaluated blockRate threshold } }", headers=m.headers)
    assert shown["data"]["radarAlert"]["blockRate"] == 0.5
    session = await login(base_url, m.account.user["email"])
    try:
        page = await session.get("/payments")
        assert "data-radar-alert" in page.text and "50%" in page.text
    finally:
        await session.client.aclose()


async def test_no_alert_for_an_account_that_blocks_nothing(http):
    m = await merchant(http)
    await confirm(m, 1000)
    assert (await gql(http, "{ radarAlert { id } }", headers=m.headers))["data"]["radarAlert"] is None
