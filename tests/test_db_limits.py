"""No app transaction outlives the window that time-based scans (webhook fan-out) rely on."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
import pytest

from server import db
from server.webhooks.fanout import SETTLE


def _minutes(text: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(min|s)", text).groups()  # type: ignore[union-attr]
    return int(number) / (60 if unit == "s" else 1)


def test_the_fan_out_window_is_longer_than_any_transaction():
    assert timedelta(minutes=_minutes(db.TRANSACTION_TIMEOUT)) < SETTLE


async def test_pooled_connections_carry_the_limits_across_uses(server):
    for _ in range(3):  # the pool resets session state between uses; the limits are connection defaults
        row = await db.fetchrow("SELECT current_setting('idle_in_transaction_session_timeout') AS idle, "
                                "current_setting('transaction_timeout', true) AS total")
        assert row["idle"] == db.TRANSACTION_TIMEOUT
        assert row["total"] in (db.TRANSACTION_TIMEOUT, None)


async def test_a_transaction_past_the_limit_is_ended_by_the_server(server):
    conn = await asyncpg.connect(db.engine().config["dsn"], server_settings={"transaction_timeout": "200ms"})
    try:
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
            async with conn.transaction():
                await conn.execute("SELECT pg_sleep(1)")
    finally:
        await conn.close()
