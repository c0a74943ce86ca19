"""SQL of the webhooks domain. Every merchant read takes a Scope; the workers' claims are the exceptions, named so."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server import db
from server.context import Scope

ENDPOINT_COLUMNS = ("id, account_id, livemode, url, description, enabled_events, status, ordered, disabled_reason, "
                    "disabled_at, failing_since, previous_secret_expires_at, created, updated")
DELIVERY_COLUMNS = ("id, account_id, livemode, endpoint_id, event_id, event_type, status, is_test, auto_retry, "
                    "attempt_count, next_attempt_at, last_attempt_at, last_status_code, last_error, created")


def _events(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None and isinstance(row.get("enabled_events"), str):
        row["enabled_events"] = json.loads(row["enabled_events"])
    return row


# --- endpoints -------------------------------------------------------------------------------


async def insert_endpoint(row: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO webhook_endpoints (id, account_id, livemode, url, description, enabled_events, status, secret, "
        "ordered, created, updated) VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'enabled', $7, $8, $9, $9)",
        row["id"], row["account_id"], row["livemode"], row["url"], row["description"],
        json.dumps(row["enabled_events"]), row["secret"], row["ordered"], row["created"])


async def endpoint(scope: Scope, endpoint_id: str, *, for_update: bool = False,
                   with_secret: bool = False) -> dict[str, Any] | None:
    cols = ENDPOINT_COLUMNS + (", secret, previous_secret" if with_secret else "")
    lock = " FOR UPDATE" if for_update else ""
    return _events(await db.fetchrow(
        f"SELECT {cols} FROM webhook_endpoints WHERE id = $1 AND account_id = $2 AND livemode = $3{lock}",
        endpoint_id, scope.account_id, scope.livemode))


async def endpoints_page(scope: Scope, after: str | None, limit: int) -> list[dict[str, Any]]:
    args: list[Any] = [scope.account_id, scope.livemode, limit + 1]
    where = ""
    if after:
        args.append(after)
        where = "AND id < $4"
    rows = await db.fetch(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 {where} "
        "ORDER BY id DESC LIMIT $3", *args)
    return [_events(r) for r in rows]  # type: ignore[misc]


async def update_endpoint(scope: Scope, endpoint_id: str, values: dict[str, Any]) -> None:
    sets, args = [], [endpoint_id, scope.account_id, scope.livemode]
    for column, value in values.items():
        args.append(json.dumps(value) if column == "enabled_events" else value)
        sets.append(f"{column} = ${len(args)}" + ("::jsonb" if column == "enabled_events" else ""))
    await db.execute(f"UPDATE webhook_endpoints SET {', '.join(sets)} WHERE id = $1 AND account_id = $2 "
                     "AND livemode = $3", *args)


async def delete_endpoint(scope: Scope, endpoint_id: str) -> None:
    for table, column in (("webhook_attempts", "endpoint_id"), ("webhook_deliveries", "endpoint_id"),
                          ("webhook_endpoints", "id")):
        await db.execute(f"DELETE FROM {table} WHERE {column} = $1 AND account_id = $2 AND livemode = $3",
                         endpoint_id, scope.account_id, scope.livemode)


async def endpoint_stats(scope: Scope, endpoint_ids: list[str], since: datetime) -> dict[str, dict[str, Any]]:
    """Per endpoint: attempts since `since` that succeeded / failed, and the last attempt's time."""
    rows = await db.fetch(
        "SELECT endpoint_id, count(*) FILTER (WHERE outcome = 'succeeded') AS ok, count(*) AS total, "
        "max(created) AS last_at FROM webhook_attempts WHERE account_id = $1 AND livemode = $2 "
        "AND endpoint_id = ANY($3::varchar[]) AND created >= $4 GROUP BY endpoint_id",
        scope.account_id, scope.livemode, endpoint_ids, since)
    last = await db.fetch(
        "SELECT DISTINCT ON (endpoint_id) endpoint_id, created, outcome, response_status FROM webhook_attempts "
        "WHERE account_id = $1 AND livemode = $2 AND endpoint_id = ANY($3::varchar[]) "
        "ORDER BY endpoint_id, created DESC", scope.account_id, scope.livemode, endpoint_ids)
    stats = {r["endpoint_id"]: {"ok": r["ok"], "total": r["total"]} for r in rows}
    for r in last:
        stats.setdefault(r["endpoint_id"], {"ok": 0, "total": 0}).update(
            last_at=r["created"], last_outcome=r["outcome"], last_status=r["response_status"])
    return stats


async def delivery_buckets(scope: Scope, endpoint_id: str, since: datetime,
                           bucket_seconds: int) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT to_timestamp(floor(extract(epoch FROM created) / $5) * $5) AS bucket, "
        "count(*) FILTER (WHERE outcome = 'succeeded') AS ok, count(*) FILTER (WHERE outcome <> 'succeeded') AS failed "
        "FROM webhook_attempts WHERE account_id = $1 AND livemode = $2 AND endpoint_id = $3 AND created >= $4 "
        "GROUP BY 1 ORDER BY 1", scope.account_id, scope.livemode, endpoint_id, since, bucket_seconds)


# --- deliveries ------------------------------------------------------------------------------


async def insert_deliveries(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await db.execute(
        "INSERT INTO webhook_deliveries (id, account_id, livemode, endpoint_id, event_id, event_type, payload, "
        "status, is_test, auto_retry, attempt_count, next_attempt_at, created) "
        "SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::bool[], $4::varchar[], $5::varchar[], "
        "$6::varchar[], $7::text[], $8::varchar[], $9::bool[], $10::bool[], $11::int[], $12::timestamptz[], "
        "$13::timestamptz[])",
        *[[r[k] for r in rows] for k in ("id", "account_id", "livemode", "endpoint_id", "event_id", "event_type",
                                          "payload", "status", "is_test", "auto_retry", "attempt_count",
                                          "next_attempt_at", "created")])


async def delivery(scope: Scope, delivery_id: str, *, for_update: bool = False,
                   with_payload: bool = False) -> dict[str, Any] | None:
    cols = DELIVERY_COLUMNS + (", payload" if with_payload else "")
    lock = " FOR UPDATE" if for_update else ""
    return await db.fetchrow(
        f"SELECT {cols} FROM webhook_deliveries WHERE id = $1 AND account_id = $2 AND livemode = $3{lock}",
        delivery_id, scope.account_id, scope.livemode)


async def deliveries_page(scope: Scope, after: str | None, limit: int, *, endpoint_id: str | None = None,
                          status: str | None = None, event_type: str | None = None, event_id: str | None = None,
                          object_id: str | None = None, created_gte: datetime | None = None,
                          created_lte: datetime | None = None) -> list[dict[str, Any]]:
    sql = [f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND livemode = $2"]
    args: list[Any] = [scope.account_id, scope.livemode]
    if object_id is not None:  # deliveries of the events about one object, e.g. a payment's timeline
        args.append(object_id)
        sql.append(f"AND event_id IN (SELECT id FROM events WHERE account_id = $1 AND livemode = $2 "
                   f"AND object_id = ${len(args)})")
    for clause, value in (("endpoint_id = ${}", endpoint_id), ("status = ${}", status),
                          ("event_id = ${}", event_id), ("created >= ${}", created_gte),
                          ("created <= ${}", created_lte), ("id < ${}", after)):
        if value is not None:
            args.append(value)
            sql.append("AND " + clause.format(len(args)))
    if event_type:
        if event_type.endswith(".*"):
            args.append(event_type[:-1] + "%")
            sql.append(f"AND event_type LIKE ${len(args)}")
        else:
            args.append(event_type)
            sql.append(f"AND event_type = ${len(args)}")
    args.append(limit + 1)
    sql.append(f"ORDER BY id DESC LIMIT ${len(args)}")
    return await db.fetch(" ".join(sql), *args)


async def attempts(scope: Scope, delivery_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT * FROM webhook_attempts WHERE delivery_id = $1 AND account_id = $2 AND livemode = $3 "
        "ORDER BY attempt_number DESC", delivery_id, scope.account_id, scope.livemode)
    for r in rows:
        for col in ("request_headers", "response_headers"):
            if isinstance(r[col], str):
                r[col] = json.loads(r[col])
    return rows


async def requeue(scope: Scope, ids: list[str], at: datetime, auto_retry: bool) -> int:
    rows = await db.fetch(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4, locked_until = NULL, "
        "auto_retry = $5 WHERE id = ANY($1::varchar[]) AND account_id = $2 AND livemode = $3 RETURNING id",
        ids, scope.account_id, scope.livemode, at, auto_retry)
    return len(rows)


async def skip_pending(scope: Scope, endpoint_id: str) -> None:
    """A disabled endpoint's queued deliveries become skipped: kept, and recoverable once it is enabled."""
    await db.execute(
        "UPDATE webhook_deliveries SET status = 'skipped', next_attempt_at = NULL WHERE endpoint_id = $1 "
        "AND account_id = $2 AND livemode = $3 AND status = 'pending'", endpoint_id, scope.account_id, scope.livemode)


async def recoverable(scope: Scope, endpoint_id: str, since: datetime) -> list[str]:
    """Failed or skipped deliveries since `since`, minus events that reached the endpoint in another delivery."""
    rows = await db.fetch(
        "SELECT d.id FROM webhook_deliveries d WHERE d.account_id = $1 AND d.livemode = $2 AND d.endpoint_id = $3 "
        "AND d.status IN ('failed', 'skipped') AND d.created >= $4 AND NOT d.is_test AND NOT EXISTS ("
        "  SELECT 1 FROM webhook_deliveries s WHERE s.account_id = $1 AND s.livemode = $2 AND s.endpoint_id = $3 "
        "  AND s.event_id = d.event_id AND s.status IN ('succeeded', 'pending') AND s.id <> d.id) "
        "ORDER BY d.id", scope.account_id, scope.livemode, endpoint_id, since)
    return [r["id"] for r in rows]
