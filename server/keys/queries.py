"""SQL for API keys. Every merchant read takes a Scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import db
from server.context import Scope


async def insert(row: dict[str, Any]) -> None:
    await db.execute(db.insert_sql("api_keys", list(row)), *row.values())


async def get(scope: Scope, key_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM api_keys WHERE id = $1 AND account_id = $2 AND livemode = $3",
                             key_id, scope.account_id, scope.livemode)


async def get_for_update(scope: Scope, key_id: str) -> dict[str, Any] | None:
    return await db.fetchrow(
        "SELECT * FROM api_keys WHERE id = $1 AND account_id = $2 AND livemode = $3 FOR UPDATE",
        key_id, scope.account_id, scope.livemode,
    )


async def list_page(scope: Scope, after: str | None, limit: int, include_revoked: bool) -> list[dict[str, Any]]:
    sql = ["SELECT * FROM api_keys WHERE account_id = $1 AND livemode = $2"]
    args: list[Any] = [scope.account_id, scope.livemode]
    if not include_revoked:
        sql.append("AND revoked_at IS NULL")
    if after:
        args.append(after)
        sql.append(f"AND id < ${len(args)}")
    args.append(limit + 1)
    sql.append(f"ORDER BY id DESC LIMIT ${len(args)}")
    return await db.fetch(" ".join(sql), *args)


async def by_hash(token_hash: str) -> dict[str, Any] | None:
    """The one unscoped read: the key itself decides the scope."""
    return await db.fetchrow(
        "SELECT id, account_id, livemode, kind, permissions, expires_at, revoked_at "
        "FROM api_keys WHERE token_hash = $1",
        token_hash,
    )


async def update(scope: Scope, key_id: str, **values: Any) -> None:
    await db.execute(f"UPDATE api_keys SET {db.set_sql(list(values), 4)} "
                     "WHERE id = $1 AND account_id = $2 AND livemode = $3",
                     key_id, scope.account_id, scope.livemode, *values.values())


async def touch(key_id: str, at: datetime) -> None:
    await db.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, at)
