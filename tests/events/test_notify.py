"""emit() wakes listeners (dispatcher, webhook worker, analytics) through pg_notify, only when the event commits."""

from __future__ import annotations

import os

import asyncpg
import pytest

from server import db
from server.events.service import NOTIFY_CHANNEL, emit
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account
from tests.support import eventually


class Rollback(Exception):
    pass


async def test_notify_at_commit_only(http):
    scope = scope_of(await new_account())
    heard: list[str] = []
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        await conn.add_listener(NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: heard.append(payload))
        with pytest.raises(Rollback):
            async with db.transaction():
                undone = await emit(None, scope, "customer.created", "customer", "cus_undone", {"id": "cus_undone"})
                raise Rollback
        committed = await emit_event(scope)
        await eventually(lambda: committed in heard, timeout=10, message=f"no notify for {committed}: {heard}")
        assert undone not in heard  # notifications arrive in commit order: it would have come first
    finally:
        await conn.close()
