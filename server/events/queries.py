"""SQL for events. Every merchant read takes a Scope; the dispatcher's reads are the only unscoped ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from server import db
from server.context import Scope
from server.ids import id_floor

COLUMNS = ("id, account_id, livemode, type, object_type, object_id, data, request_id, idempotency_key, "
           "created, pos")


@dataclass
class TypeFilter:
    """Event types to keep: exact names, and `prefix.*` wildcards (none: all types); optionally
    only events about one kind of object (`object_type`) or one object (`object_id`)."""

    exact: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    object_type: str | None = None
    object_id: str | None = None

    @classmethod
    def parse(cls, types: list[str] | None) -> TypeFilter:
        out = cls()
        for raw in types or []:
            name = raw.strip()
            if not name:
                continue
            if name == "*":
                return cls()
            if name.endswith(".*"):
                out.prefixes.append(name[:-1])  # keep the dot: "payment_intent."
            else:
                out.exact.append(name)
        return out

    @property
    def empty(self) -> bool:
        return not self.exact and not self.prefixes

    def matches(self, event_type: str) -> bool:
        return self.empty or event_type in self.exact or any(event_type.startswith(p) for p in self.prefixes)

    def matches_message(self, message: Any) -> bool:
        return ((self.object_type is None or message.object_type == self.object_type)
                and (self.object_id is None or message.object_id == self.object_id)
                and self.matches(message.type))

    def sql(self, args: list[Any]) -> str:
        """A WHERE fragment (with the leading AND) appending its parameters to `args`."""
        out = ""
        if self.object_type is not None:
            args.append(self.object_type)
            out += f" AND object_type = ${len(args)}"
        if self.object_id is not None:
            args.append(self.object_id)
            out += f" AND object_id = ${len(args)}"
        if self.empty:
            return out
        parts = []
        if self.exact:
            args.append(self.exact)
            parts.append(f"type = ANY(${len(args)}::varchar[])")
        for prefix in self.prefixes:
            args.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            parts.append(f"type LIKE ${len(args)}")
        return out + " AND (" + " OR ".join(parts) + ")"


async def insert(row: dict[str, Any], notify_channel: str) -> None:
    """The event's row, and `pg_notify(notify_channel, id)` in the same round trip (delivered at commit)."""
    await db.execute("SELECT event_emit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", *ordered(row),
                     notify_channel)


def ordered(row: dict[str, Any]) -> tuple[Any, ...]:
    """An event row's values in the order of event_emit()'s parameters (the SQL functions that emit take them so)."""
    return (row["id"], row["account_id"], row["livemode"], row["type"], row["object_type"], row["object_id"],
            row["data"], row["request_id"], row["idempotency_key"], row["created"])


async def get(scope: Scope, event_id: str) -> dict[str, Any] | None:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM events WHERE id = $1 AND account_id = $2 AND livemode = $3",
        event_id, scope.account_id, scope.livemode,
    )


async def list_page(scope: Scope, after: str | None, limit: int, types: TypeFilter,
                    created_gte: datetime | None = None, created_lte: datetime | None = None,
                    ) -> list[dict[str, Any]]:
    """Newest first, keyset on id; fetches limit + 1 rows."""
    args: list[Any] = [scope.account_id, scope.livemode]
    sql = [f"SELECT {COLUMNS} FROM events WHERE account_id = $1 AND livemode = $2"]
    if after:
        args.append(after)
        sql.append(f"AND id < ${len(args)}")
    if created_gte is not None:
        # ids begin with their creation millisecond, so a time bound is also an id bound (uses the index)
        args.append(id_floor("evt", int(created_gte.timestamp() * 1000)))
        sql.append(f"AND id >= ${len(args)}")
        args.append(created_gte)
        sql.append(f"AND created >= ${len(args)}")
    if created_lte is not None:
        args.append(id_floor("evt", int(created_lte.timestamp() * 1000) + 1))
        sql.append(f"AND id < ${len(args)}")
        args.append(created_lte)
        sql.append(f"AND created <= ${len(args)}")
    sql.append(types.sql(args))
    args.append(limit + 1)
    sql.append(f"ORDER BY id DESC LIMIT ${len(args)}")
    return await db.fetch(" ".join(sql), *args)


async def after_position(scope: Scope, pos: int, types: TypeFilter, limit: int = 500) -> list[dict[str, Any]]:
    """Dispatched events of the scope after a position, oldest first: how a stream catches up."""
    args: list[Any] = [scope.account_id, scope.livemode, pos]
    where = types.sql(args)
    args.append(limit)
    return await db.fetch(
        f"SELECT {COLUMNS} FROM events WHERE account_id = $1 AND livemode = $2 AND pos > $3 {where} "
        f"ORDER BY pos LIMIT ${len(args)}",
        *args,
    )


async def position_of(scope: Scope, event_id: str) -> int | None:
    row = await db.fetchrow("SELECT pos FROM events WHERE id = $1 AND account_id = $2 AND livemode = $3",
                            event_id, scope.account_id, scope.livemode)
    return row["pos"] if row else None


async def assigned_position() -> int:
    row = await db.fetchrow("SELECT assigned_pos FROM event_dispatch WHERE name = 'redis'")
    return int(row["assigned_pos"]) if row else 0


async def delete_older_than(cutoff_id: str, batch: int) -> int:
    """Retention: ids sort by creation time, so age is an id range on the primary key."""
    rows = await db.fetch(
        "WITH doomed AS (SELECT id FROM events WHERE id < $1 ORDER BY id LIMIT $2) "
        "DELETE FROM events e USING doomed WHERE e.id = doomed.id RETURNING e.id",
        cutoff_id, batch,
    )
    return len(rows)


# --- the dispatcher's own connection (server/events/dispatcher.py) -------------------------------

LEADER_LOCK = 0x70617964_6576  # "paydev": the advisory lock key of the dispatcher leader

ASSIGN_SQL = f"""
WITH batch AS (
    SELECT id, seq FROM events WHERE pos IS NULL ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT batch.id, $1::bigint + row_number() OVER (ORDER BY batch.seq) AS pos FROM batch
)
UPDATE events SET pos = numbered.pos FROM numbered WHERE events.id = numbered.id
RETURNING {", ".join("events." + c.strip() for c in COLUMNS.split(","))}
"""


async def take_leadership(conn: asyncpg.Connection) -> bool:
    """The session advisory lock of the leader; PostgreSQL releases it when the connection ends."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))


async def assign_positions(conn: asyncpg.Connection, name: str, batch: int) -> list[dict[str, Any]]:
    """Give up to `batch` committed events the next positions, in one transaction; the positioned rows."""
    async with conn.transaction():
        # The state row's lock serialises assigners, so positions grow in commit order.
        assigned = await conn.fetchval("SELECT assigned_pos FROM event_dispatch WHERE name = $1 FOR UPDATE", name)
        if assigned is None:
            return []
        rows = [dict(r) for r in await conn.fetch(ASSIGN_SQL, assigned, batch)]
        if rows:
            await conn.execute("UPDATE event_dispatch SET assigned_pos = $2, updated = now() WHERE name = $1",
                               name, max(r["pos"] for r in rows))
    return rows


async def mark_published(conn: asyncpg.Connection, name: str, first: int, last: int) -> None:
    """Advance only over a contiguous range: published_pos means "everything up to here went out"."""
    await conn.execute("UPDATE event_dispatch SET published_pos = $3, updated = now() "
                       "WHERE name = $1 AND published_pos >= $2 - 1 AND published_pos < $3", name, first, last)


async def dispatch_state(conn: asyncpg.Connection, name: str) -> dict[str, Any]:
    """(assigned_pos, published_pos) of the dispatcher `name`, created at zero on first use."""
    row = await conn.fetchrow("SELECT assigned_pos, published_pos FROM event_dispatch WHERE name = $1", name)
    if row is None:
        await conn.execute("INSERT INTO event_dispatch (name, assigned_pos, published_pos, updated) "
                           "VALUES ($1, 0, 0, now()) ON CONFLICT DO NOTHING", name)
        return {"assigned_pos": 0, "published_pos": 0}
    return dict(row)


async def positioned(conn: asyncpg.Connection, after: int, upto: int, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE pos > $1 AND pos <= $2 ORDER BY pos LIMIT $3", after, upto, limit)]


async def skip_to(conn: asyncpg.Connection, name: str, pos: int) -> None:
    await conn.execute("UPDATE event_dispatch SET published_pos = $2 WHERE name = $1", name, pos)


async def dispatch_lag_seconds() -> float:
    """How long the oldest committed event has waited for the dispatcher (0 when none waits)."""
    row = await db.fetchrow(
        "SELECT coalesce(extract(epoch FROM now() - min(created)), 0)::float8 AS lag FROM events WHERE pos IS NULL")
    return float(row["lag"]) if row else 0.0
