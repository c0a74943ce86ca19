"""The WAL positions the replica router compares, each on a connection it is given (a primary's or a replica's)."""

from __future__ import annotations

from typing import Any


async def primary_position(conn: Any) -> int:
    """The primary's WAL insert position, in bytes: past every commit record that exists.

    Not `pg_current_wal_lsn()` (what is written out): under `synchronous_commit = off` a commit returns before
    its record is written, so a replica could count as caught up past a commit it does not have yet. (At an exact
    page boundary the insert position is past the next page's header, a few bytes ahead of what a replica can
    replay until the primary writes again: the replica then counts as lagging, the safe side.)"""
    return int(await conn.fetchval("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn"))


async def replayed_position(conn: Any) -> int | None:
    """How far a replica has replayed the primary's WAL, in bytes (None: not a replica)."""
    value = await conn.fetchval("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
    return None if value is None else int(value)
