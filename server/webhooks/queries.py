"""SQL of the webhooks domain. Every merchant read takes a Scope; the workers' claims are the exceptions, named so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import db
from server.context import Scope

ENDPOINT_COLUMNS = ("id, account_id, livemode, url, description, enabled_events, status, ordered, signature_scheme, "
                    "disabled_reason, "
                    "disabled_at, failing_since, previous_secret_expires_at, created, updated")
DELIVERY_COLUMNS = ("id, account_id, livemode, endpoint_id, event_id, event_type, status, is_test, auto_retry, "
                    "attempt_count, next_attempt_at, last_attempt_at, last_status_code, last_error, created")


# --- endpoints -------------------------------------------------------------------------------


async def insert_endpoint(row: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO webhook_endpoints (id, account_id, livemode, url, description, enabled_events, status, secret, "
        "ordered, signature_scheme, created, updated) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'enabled', $7, $8, $10, $9, $9)",
        row["id"], row["account_id"], row["livemode"], row["url"], row["description"],
        row["enabled_events"], row["secret"], row["ordered"], row["created"], row["signature_scheme"])


async def endpoint(scope: Scope, endpoint_id: str, *, for_update: bool = False,
                   with_secret: bool = False) -> dict[str, Any] | None:
    cols = ENDPOINT_COLUMNS + (", secret, previous_secret" if with_secret else "")
    lock = " FOR UPDATE" if for_update else ""
    return await db.fetchrow(
        f"SELECT {cols} FROM webhook_endpoints WHERE id = $1 AND account_id = $2 AND livemode = $3{lock}",
        endpoint_id, scope.account_id, scope.livemode)


async def endpoints_page(scope: Scope, after: str | None, limit: int) -> list[dict[str, Any]]:
    args: list[Any] = [scope.account_id, scope.livemode, limit + 1]
    where = ""
    if after:
        args.append(after)
        where = "AND id < $4"
    return await db.fetch(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND livemode = $2 {where} "
        "ORDER BY id DESC LIMIT $3", *args)


async def update_endpoint(scope: Scope, endpoint_id: str, values: dict[str, Any]) -> None:
    sets, args = [], [endpoint_id, scope.account_id, scope.livemode]
    for column, value in values.items():
        args.append(value)
        sets.append(f"{column} = ${len(args)}")
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


async def attempts(scope: Scope, delivery_ids: list[str]) -> list[dict[str, Any]]:
    """The attempts of these deliveries, each delivery's newest first."""
    rows = await db.fetch(
        "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::varchar[]) AND account_id = $2 AND livemode = $3 "
        "ORDER BY delivery_id, attempt_number DESC", delivery_ids, scope.account_id, scope.livemode)
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


# --- the delivery engine: worker reads and writes, unscoped because they act for every account ----------------

WAKE_CHANNEL = "paydeck_webhooks"


async def notify_workers() -> None:
    """Wake the delivery workers of every process; inside a transaction it is sent only if that commits."""
    await db.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


async def relaxed_commit() -> None:
    """Webhook bookkeeping commits without waiting for the WAL flush.

    A crash can lose the last moments of it, never corrupt it: a lost lease or
    attempt record means the delivery is sent again with the same webhook-id
    (at-least-once, which receivers handle by that id), and a lost fan-out loses
    marker and deliveries together, so the committed event is fanned out again.
    """
    await db.execute("SET LOCAL synchronous_commit = off")


async def claim_due(now: datetime, limit: int, lease_until: datetime, per_endpoint: int) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint, each with its endpoint."""
    return await db.fetch(
        "WITH eps AS (SELECT d.endpoint_id, count(*) FILTER (WHERE d.locked_until > $1) AS busy, "
        "  bool_or(e.ordered) AS ordered FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        "  WHERE d.status = 'pending' AND (d.next_attempt_at <= $1 OR d.locked_until > $1) GROUP BY d.endpoint_id) "
        "UPDATE webhook_deliveries w SET locked_until = $3 FROM webhook_endpoints e "
        "WHERE e.id = w.endpoint_id AND w.id IN ("
        "  SELECT d.id FROM eps, LATERAL (SELECT id FROM webhook_deliveries d WHERE d.endpoint_id = eps.endpoint_id "
        "    AND d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1) "
        # An ordered endpoint gets only its oldest pending delivery, and only when nothing else is in flight.
        "    AND NOT (eps.ordered AND EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.endpoint_id = d.endpoint_id "
        "      AND o.status = 'pending' AND o.seq < d.seq)) "
        "    ORDER BY d.next_attempt_at, d.id "
        "    LIMIT greatest(CASE WHEN eps.ordered THEN 1 ELSE $4 END - eps.busy, 0) FOR UPDATE SKIP LOCKED) d "
        "  LIMIT $2) "
        # The endpoint comes with the claim: one query less per delivery.
        "RETURNING w.id, w.account_id, w.livemode, w.endpoint_id, w.event_id, w.payload, w.attempt_count, "
        "w.auto_retry, e.url, e.status AS endpoint_status, e.secret, e.previous_secret, e.signature_scheme, "
        "e.previous_secret_expires_at, e.failing_since",
        now, limit, lease_until, per_endpoint)


async def skip_claimed(delivery_id: str) -> None:
    await db.execute("UPDATE webhook_deliveries SET status = 'skipped', locked_until = NULL, "
                     "next_attempt_at = NULL WHERE id = $1", delivery_id)


async def lock_endpoint_health(endpoint_id: str) -> dict[str, Any] | None:
    """The endpoint's `failing_since`, row locked; None when the endpoint was deleted meanwhile.

    Lock order everywhere: the endpoint, then its deliveries (disabling skips them
    all); concurrent attempts of one endpoint thus queue here instead of deadlocking.
    """
    return await db.fetchrow("SELECT failing_since FROM webhook_endpoints WHERE id = $1 FOR UPDATE", endpoint_id)


async def insert_attempt(row: dict[str, Any]) -> None:
    """One attempt's record, unless its delivery was deleted (with its endpoint) meanwhile."""
    await db.execute(
        "INSERT INTO webhook_attempts (id, account_id, livemode, delivery_id, endpoint_id, attempt_number, url, "
        "request_headers, response_status, response_headers, response_body, duration_ms, error, outcome, created) "
        "SELECT $1::varchar, $2::varchar, $3::bool, $4::varchar, $5::varchar, $6::int, $7::varchar, $8::jsonb, "
        "$9::int, $10::jsonb, $11::text, $12::int, $13::varchar, $14::varchar, $15::timestamptz "
        "WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $4::varchar)",
        row["id"], row["account_id"], row["livemode"], row["delivery_id"], row["endpoint_id"], row["attempt_number"],
        row["url"], row["request_headers"], row["response_status"], row["response_headers"],
        row["response_body"], row["duration_ms"], row["error"], row["outcome"], row["created"])


async def record_attempt(delivery_id: str, status: str, attempt_count: int, next_attempt_at: datetime | None,
                         attempted_at: datetime, status_code: int | None, error: str | None) -> None:
    """The delivery after an attempt: its new status, when to try again, and the last answer."""
    await db.execute(
        # A delivery skipped meanwhile (its endpoint was disabled during the attempt) stays skipped.
        "UPDATE webhook_deliveries SET status = CASE WHEN status = 'skipped' AND $2 <> 'succeeded' THEN "
        "'skipped' ELSE $2 END, "
        "next_attempt_at = CASE WHEN status = 'skipped' THEN NULL ELSE $4::timestamptz END, "
        "attempt_count = $3, locked_until = NULL, last_attempt_at = $5, last_status_code = $6, last_error = $7 "
        "WHERE id = $1",
        delivery_id, status, attempt_count, next_attempt_at, attempted_at, status_code, error)


async def clear_failing(endpoint_id: str) -> None:
    await db.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", endpoint_id)


async def mark_failing(endpoint_id: str, since: datetime) -> None:
    await db.execute("UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL",
                     endpoint_id, since)


async def failing_since_before(cutoff: datetime) -> list[dict[str, Any]]:
    """Enabled endpoints failing since before `cutoff`."""
    return await db.fetch("SELECT id, account_id, livemode FROM webhook_endpoints WHERE status = 'enabled' "
                          "AND failing_since <= $1", cutoff)


# --- fan-out (worker, unscoped) ---------------------------------------------------------------------------------


async def fanout_low_id(state: str) -> str | None:
    row = await db.fetchrow("SELECT low_id FROM webhook_fanout_state WHERE name = $1", state)
    return row["low_id"] if row else None


async def raise_fanout_low(state: str, low_id: str) -> None:
    """Move the low-water mark up to `low_id`, never down."""
    await db.execute(
        "INSERT INTO webhook_fanout_state (name, low_id) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
        "SET low_id = greatest(webhook_fanout_state.low_id COLLATE \"C\", excluded.low_id COLLATE \"C\")",
        state, low_id)


async def events_not_fanned_out(low_id: str, limit: int) -> list[str]:
    """Ids of committed events above the low-water mark that have no fan-out marker yet, oldest first."""
    rows = await db.fetch(
        "SELECT e.id FROM events e WHERE e.id > $1 AND NOT EXISTS "
        "(SELECT 1 FROM webhook_fanouts f WHERE f.event_id = e.id) ORDER BY e.id LIMIT $2", low_id, limit)
    return [r["id"] for r in rows]


async def insert_fanout_markers(event_ids: list[str], now: datetime) -> list[str]:
    """Markers for the events; returns those this call inserted (another worker may have won the rest)."""
    rows = await db.fetch(
        "INSERT INTO webhook_fanouts (event_id, created) SELECT unnest($1::varchar[]), $2 "
        "ON CONFLICT DO NOTHING RETURNING event_id", event_ids, now)
    return [r["event_id"] for r in rows]


async def events_to_deliver(event_ids: list[str]) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT id, account_id, livemode, type, data, created, request_id, idempotency_key FROM events "
        "WHERE id = ANY($1::varchar[]) ORDER BY seq", event_ids)


async def endpoints_of_accounts(account_ids: list[str]) -> list[dict[str, Any]]:
    """Every endpoint of the accounts, both modes, enabled or not (disabled ones get skipped deliveries)."""
    return await db.fetch(
        "SELECT id, account_id, livemode, enabled_events, status FROM webhook_endpoints "
        "WHERE account_id = ANY($1::varchar[]) ORDER BY id", account_ids)


async def delete_fanout_markers_below(event_id: str) -> None:
    await db.execute("DELETE FROM webhook_fanouts WHERE event_id < $1", event_id)


async def queue_stats(now: datetime) -> dict[str, Any]:
    """Deliveries due now and how long the oldest of them has been due (server.metrics)."""
    row = await db.fetchrow(
        "SELECT count(*) AS depth, coalesce(extract(epoch FROM $1 - min(next_attempt_at)), 0)::float8 AS age "
        "FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1", now)
    return row or {"depth": 0, "age": 0.0}
