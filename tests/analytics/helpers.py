"""Shared helpers of the analytics tests: wait for the follower and the log writer, compare with the sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.analytics import follower, queries, verify
from server.apilogs.writer import flush_all
from server.context import Scope
from tests.support import eventually


async def caught_up() -> None:
    """Every committed event positioned and applied, every captured request written (and so rolled up)."""

    async def done() -> bool:
        await flush_all()
        backlog = await queries.backlog(follower.POSITION)
        return backlog == {"unpositioned": 0, "unread": 0}

    await eventually(done, timeout=20, message=lambda: "the rollup follower to catch up")


async def differences(account_id: str, since: datetime | None = None) -> list[str]:
    """Every difference between the account's rollups (both modes) and its source tables."""
    since = since or datetime.now(UTC) - timedelta(days=2)
    until = datetime.now(UTC) + timedelta(hours=1)
    found = []
    for livemode in (False, True):
        found += [str(d) for d in await verify.differences(Scope(account_id, livemode), since, until)]
    return found
