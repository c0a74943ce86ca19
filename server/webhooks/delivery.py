"""Claiming and sending deliveries, and what each outcome does.

A delivery is claimed by setting a lease (`locked_until`) in one UPDATE over
rows picked with FOR UPDATE SKIP LOCKED, at most `PER_ENDPOINT` in flight per
endpoint across all workers, so a slow endpoint never takes the capacity
others need. A worker killed mid-attempt leaves the lease to expire; the row
is claimed again and sent with the same `webhook-id`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from server import db
from server.context import Scope
from server.ids import new_id
from server.webhooks import clock, service, signing, ssrf

# Seconds before attempt 1, 2, ...: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
JITTER = 0.1  # each delay is multiplied by a factor in [1 - JITTER, 1 + JITTER]
MAX_RETRY_AFTER = 24 * 3600
TIMEOUT = 15.0
LEASE = timedelta(seconds=TIMEOUT * 4)
PER_ENDPOINT = 4
BODY_KEEP = 2048
DISABLE_AFTER = timedelta(days=5)


def retry_delay(attempts_made: int, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts, or None when the schedule is over."""
    if attempts_made >= len(SCHEDULE):
        return None
    base = SCHEDULE[attempts_made]
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


async def claim(limit: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries, at most PER_ENDPOINT in flight per endpoint (worker read: unscoped)."""
    now = now or clock.now()
    async with db.transaction():
        await relaxed_commit()
        return await _claim(now, limit)


async def relaxed_commit() -> None:
    """Webhook bookkeeping commits without waiting for the WAL flush.

    A crash can lose the last moments of it, never corrupt it: a lost lease or
    attempt record means the delivery is sent again with the same webhook-id
    (at-least-once, which receivers handle by that id), and a lost fan-out loses
    marker and deliveries together, so the committed event is fanned out again.
    """
    await db.execute("SET LOCAL synchronous_commit = off")


async def _claim(now: datetime, limit: int) -> list[dict[str, Any]]:
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
        "w.auto_retry, e.url, e.status AS endpoint_status, e.secret, e.previous_secret, "
        "e.previous_secret_expires_at, e.failing_since",
        now, limit, now + LEASE, PER_ENDPOINT)


async def send(client: httpx.AsyncClient, row: dict[str, Any]) -> str:
    """Make one attempt of a claimed delivery and record it; returns the delivery's new status."""
    ep = {"id": row["endpoint_id"], "url": row["url"], "status": row["endpoint_status"], "secret": row["secret"],
          "previous_secret": row["previous_secret"], "failing_since": row["failing_since"],
          "previous_secret_expires_at": row["previous_secret_expires_at"]}
    if ep["status"] != "enabled":
        await db.execute("UPDATE webhook_deliveries SET status = 'skipped', locked_until = NULL, "
                         "next_attempt_at = NULL WHERE id = $1", row["id"])
        return "skipped"
    secrets = [ep["secret"]]
    if ep["previous_secret"] and ep["previous_secret_expires_at"] and ep["previous_secret_expires_at"] > clock.now():
        secrets.append(ep["previous_secret"])
    headers = signing.headers(secrets, row["id"], clock.wall(), row["payload"])
    result: dict[str, Any] = {"status": None, "headers": {}, "body": "", "error": None}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TIMEOUT):
            async with client.stream("POST", ep["url"], content=row["payload"].encode(), headers=headers) as resp:
                result["status"], result["headers"] = resp.status_code, dict(resp.headers)
                kept = bytearray()
                async for chunk in resp.aiter_raw():
                    kept += chunk
                    if len(kept) >= BODY_KEEP:
                        break  # the size cap: the rest is never read
                result["body"] = bytes(kept[:BODY_KEEP]).decode("utf-8", errors="replace")
    except ssrf.BlockedAddress as exc:
        result["error"] = f"refused: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        result["error"] = f"timed out after {TIMEOUT:.0f}s"
    except (httpx.HTTPError, OSError) as exc:
        result["error"] = f"connection failed: {type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.perf_counter() - started) * 1000)
    return await _record(row, ep, headers, result, duration_ms)


async def _record(row: dict[str, Any], ep: dict[str, Any], headers: dict[str, str], result: dict[str, Any],
                  duration_ms: int) -> str:
    now = clock.now()
    scope = Scope(row["account_id"], row["livemode"])
    code = result["status"]
    ok = code is not None and 200 <= code < 300
    attempt_number = row["attempt_count"] + 1
    if code is not None and not ok and result["error"] is None:
        result["error"] = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    next_at, status = None, "succeeded" if ok else "failed"
    if not ok and code != 410 and row["auto_retry"]:
        delay = retry_delay(attempt_number)
        if delay is not None:
            if code in (429, 503):
                delay = max(delay, parse_retry_after(result["headers"].get("retry-after"), now) or 0.0)
            next_at, status = now + timedelta(seconds=delay), "pending"
    async with db.transaction():
        await relaxed_commit()
        if not ok or ep["failing_since"] is not None:
            # Lock order everywhere: the endpoint, then its deliveries (disable() skips them all); concurrent
            # attempts of one endpoint thus queue here instead of deadlocking.
            current = await db.fetchrow("SELECT failing_since FROM webhook_endpoints WHERE id = $1 FOR UPDATE",
                                        ep["id"])
            if current is None:
                return status
            ep["failing_since"] = current["failing_since"]
        await db.execute(
            "INSERT INTO webhook_attempts (id, account_id, livemode, delivery_id, endpoint_id, attempt_number, url, "
            "request_headers, response_status, response_headers, response_body, duration_ms, error, outcome, created) "
            "SELECT $1::varchar, $2::varchar, $3::bool, $4::varchar, $5::varchar, $6::int, $7::varchar, $8::jsonb, "
            "$9::int, $10::jsonb, $11::text, $12::int, $13::varchar, $14::varchar, $15::timestamptz "
            # no attempt row for a delivery deleted (with its endpoint) meanwhile
            "WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $4::varchar)",
            new_id("wha"), row["account_id"], row["livemode"], row["id"], row["endpoint_id"], attempt_number,
            ep["url"], json.dumps(headers), code, json.dumps(result["headers"]), result["body"], duration_ms,
            result["error"], "succeeded" if ok else "failed", now)
        await db.execute(
            # A delivery skipped meanwhile (its endpoint was disabled during the attempt) stays skipped.
            "UPDATE webhook_deliveries SET status = CASE WHEN status = 'skipped' AND $2 <> 'succeeded' THEN "
            "'skipped' ELSE $2 END, "
            "next_attempt_at = CASE WHEN status = 'skipped' THEN NULL ELSE $4::timestamptz END, "
            "attempt_count = $3, locked_until = NULL, last_attempt_at = $5, last_status_code = $6, last_error = $7 "
            "WHERE id = $1",
            row["id"], status, attempt_number, next_at, now, code, result["error"])
        if ok:
            if ep["failing_since"] is not None:
                await db.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", ep["id"])
        elif code == 410:
            await service.disable(scope, ep["id"], "the endpoint answered 410 Gone", now)
        else:
            since = ep["failing_since"] or now
            if ep["failing_since"] is None:
                await db.execute("UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 "
                                 "AND failing_since IS NULL", ep["id"], now)
            if now - since >= DISABLE_AFTER:
                await service.disable(scope, ep["id"], "failing continuously for 5 days", now)
    return status


async def disable_failing(now: datetime | None = None) -> int:
    """Disable endpoints failing for 5 days even when nothing is being sent to them (worker sweep)."""
    now = now or clock.now()
    rows = await db.fetch("SELECT id, account_id, livemode FROM webhook_endpoints WHERE status = 'enabled' "
                          "AND failing_since <= $1", now - DISABLE_AFTER)
    count = 0
    for r in rows:
        async with db.transaction():
            count += await service.disable(Scope(r["account_id"], r["livemode"]), r["id"],
                                           "failing continuously for 5 days", now)
    return count
