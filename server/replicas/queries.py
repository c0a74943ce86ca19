"""The WAL positions the replica router compares, each on a connection it is given (a primary's or a replica's)."""

from __future__ import annotations

from typing import Any


async def primary_position(conn: Any) -> int:
    """The primary's current WAL position, in bytes."""
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


async def replayed_position(conn: Any) -> int | None:
    """How far a replica has replayed the primary's WAL, in bytes (None: not a replica)."""
    value = await conn.fetchval("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
    return None if value is None else int(value)
