"""The WAL positions the replica router compares, each on a connection it is given (a primary's or a replica's)."""

from __future__ import annotations

from typing import Any


async def primary_position(conn: Any) -> int:
    """The primary's current WAL write position, in bytes: past every commit that has returned, as long as
    commits are synchronous (`synchronous_commit` on, PostgreSQL's default, which Paydeck's embedded servers keep
    in tests too). An asynchronous commit returns before its record is written, so read-your-writes would not
    hold for it; the insert position is no way out: on a quiet primary it stays ahead of anything a replica can
    replay, and every replica would count as lagging."""
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


async def replayed_position(conn: Any) -> int | None:
    """How far a replica has replayed the primary's WAL, in bytes (None: not a replica)."""
    value = await conn.fetchval("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
    return None if value is None else int(value)
