"""SQL of the audit log."""

from __future__ import annotations

from typing import Any

from server import db


async def insert(row: dict[str, Any]) -> None:
    await db.execute(db.insert_sql("audit_log", list(row)), *row.values())


async def page(account_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest first, with the acting user's email; `limit + 1` rows for keyset paging."""
    args: list[Any] = [account_id]
    where = "a.account_id = $1"
    if after:
        args.append(after)
        where += f" AND a.id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch(
        "SELECT a.*, u.email AS actor_email FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id "
        f"WHERE {where} ORDER BY a.id DESC LIMIT ${len(args)}", *args)
