"""Claiming and sending deliveries, and what each outcome does.

A delivery is claimed by setting a lease (`locked_until`) in one UPDATE over
rows picked with FOR UPDATE SKIP LOCKED, at most `PER_ENDPOINT` in flight per
endpoint across all workers, so a slow endpoint never takes the capacity
others need. A worker killed mid-attempt leaves the lease to expire; the row
is claimed again and sent with the same `webhook-id`.

What an answer means for the delivery (retry when, give up, disable on 410)
is decided by the pure `next_attempt()`; the SQL is in `queries.py`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from server import clock, db
from server.context import Scope
from server.ids import new_id
from server.webhooks import queries, service, signing, ssrf

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


@dataclass
class Answer:
    """What one attempt got back: an HTTP status (None when no answer came) or the transport error."""

    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What an answer means: the delivery's new status, when to try again, and whether to disable the endpoint."""

    succeeded: bool
    status: str  # succeeded | pending | failed
    retry_at: datetime | None
    error: str | None
    disable_reason: str | None = None


def next_attempt(answer: Answer, attempt_number: int, auto_retry: bool, now: datetime,
                 rng: random.Random | None = None) -> Verdict:
    """What the answer to attempt `attempt_number` means for the delivery.

    2xx succeeds. 410 fails for good and disables the endpoint. Any other answer
    (3xx too: redirects are not followed), or none, is retried on the schedule
    while `auto_retry`, and never sooner than a 429's or 503's Retry-After.
    """
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        return Verdict(True, "succeeded", None, answer.error)
    error = answer.error
    if code is not None and error is None:
        error = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    if code == 410:
        return Verdict(False, "failed", None, error, disable_reason="the endpoint answered 410 Gone")
    delay = retry_delay(attempt_number, rng) if auto_retry else None
    if delay is None:
        return Verdict(False, "failed", None, error)
    if code in (429, 503):
        delay = max(delay, parse_retry_after(answer.headers.get("retry-after"), now) or 0.0)
    return Verdict(False, "pending", now + timedelta(seconds=delay), error)


async def claim(limit: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries, at most PER_ENDPOINT in flight per endpoint (worker read: unscoped)."""
    now = now or clock.WEBHOOKS.now()
    async with db.transaction():
        await queries.relaxed_commit()
        return await queries.claim_due(now, limit, now + LEASE, PER_ENDPOINT)


async def send(client: httpx.AsyncClient, row: dict[str, Any]) -> str:
    """Make one attempt of a claimed delivery and record it; returns the delivery's new status."""
    if row["endpoint_status"] != "enabled":
        await queries.skip_claimed(row["id"])
        return "skipped"
    secrets = [row["secret"]]
    expires = row["previous_secret_expires_at"]
    if row["previous_secret"] and expires and expires > clock.WEBHOOKS.now():
        secrets.append(row["previous_secret"])
    body, headers = signing.signed(row["signature_scheme"], secrets, row["id"], clock.wall(), row["payload"])
    started = time.perf_counter()
    answer = await _post(client, row["url"], body, headers)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return await _record(row, headers, answer, duration_ms)


async def _post(client: httpx.AsyncClient, url: str, payload: str, headers: dict[str, str]) -> Answer:
    answer = Answer()
    try:
        async with asyncio.timeout(TIMEOUT):
            async with client.stream("POST", url, content=payload.encode(), headers=headers) as resp:
                answer.status_code, answer.headers = resp.status_code, dict(resp.headers)
                kept = bytearray()
                async for chunk in resp.aiter_raw():
                    kept += chunk
                    if len(kept) >= BODY_KEEP:
                        break  # the size cap: the rest is never read
                answer.body = bytes(kept[:BODY_KEEP]).decode("utf-8", errors="replace")
    except ssrf.BlockedAddress as exc:
        answer.error = f"refused: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        answer.error = f"timed out after {TIMEOUT:.0f}s"
    except (httpx.HTTPError, OSError) as exc:
        answer.error = f"connection failed: {type(exc).__name__}: {exc}"[:500]
    return answer


async def _record(row: dict[str, Any], headers: dict[str, str], answer: Answer, duration_ms: int) -> str:
    now = clock.WEBHOOKS.now()
    attempt_number = row["attempt_count"] + 1
    verdict = next_attempt(answer, attempt_number, row["auto_retry"], now)
    async with db.transaction():
        await queries.relaxed_commit()
        failing_since = row["failing_since"]
        if not verdict.succeeded or failing_since is not None:
            current = await queries.lock_endpoint_health(row["endpoint_id"])
            if current is None:
                return verdict.status
            failing_since = current["failing_since"]
        await queries.insert_attempt({
            "id": new_id("wha"), "account_id": row["account_id"], "livemode": row["livemode"],
            "delivery_id": row["id"], "endpoint_id": row["endpoint_id"], "attempt_number": attempt_number,
            "url": row["url"], "request_headers": headers, "response_status": answer.status_code,
            "response_headers": answer.headers, "response_body": answer.body, "duration_ms": duration_ms,
            "error": verdict.error, "outcome": "succeeded" if verdict.succeeded else "failed", "created": now})
        await queries.record_attempt(row["id"], verdict.status, attempt_number, verdict.retry_at, now,
                                     answer.status_code, verdict.error)
        await _endpoint_health(Scope(row["account_id"], row["livemode"]), row["endpoint_id"], verdict,
                               failing_since, now)
    return verdict.status


async def _endpoint_health(scope: Scope, endpoint_id: str, verdict: Verdict, failing_since: datetime | None,
                           now: datetime) -> None:
    """A success ends a failing spell; a failure starts one, and one lasting DISABLE_AFTER disables the endpoint."""
    if verdict.succeeded:
        if failing_since is not None:
            await queries.clear_failing(endpoint_id)
    elif verdict.disable_reason:
        await service.disable(scope, endpoint_id, verdict.disable_reason, now)
    else:
        if failing_since is None:
            await queries.mark_failing(endpoint_id, now)
        if now - (failing_since or now) >= DISABLE_AFTER:
            await service.disable(scope, endpoint_id, "failing continuously for 5 days", now)


async def disable_failing(now: datetime | None = None) -> int:
    """Disable endpoints failing for 5 days even when nothing is being sent to them (worker sweep)."""
    now = now or clock.WEBHOOKS.now()
    count = 0
    for r in await queries.failing_since_before(now - DISABLE_AFTER):
        async with db.transaction():
            count += await service.disable(Scope(r["account_id"], r["livemode"]), r["id"],
                                           "failing continuously for 5 days", now)
    return count
