"""API request logs: search, detail, per-minute counts, "copy as curl", retention.

Every read takes the caller's scope (account + mode) and needs
`request_logs:read` (the `view_api_logs` permission for dashboard users).
"""

from __future__ import annotations

import functools
import logging
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from server import clock
from server.apilogs import partitions, queries
from server.apilogs.filters import LogFilter, normalise_query
from server.apilogs.meili import MeiliEngine
from server.apilogs.pgsearch import PostgresEngine
from server.apilogs.search import SearchEngine
from server.context import RequestContext
from server.errors import InvalidRequest, NotFound
from server.pagination import Page, decode_cursor, encode_cursor
from server.permissions import read
from server.settings import get_settings

log = logging.getLogger(__name__)
RESOURCE = "request_logs"
MAX_BUCKETS = 1_500  # a day (plus the current minute) per minute
BUCKETS = (60, 300, 900, 3_600, 6 * 3_600, 86_400)
# Unfiltered ranges longer than this are counted from the API rollups, per 15 minutes at least (their
# finest bucket) instead of per minute: counting the rows themselves grows with the traffic of the range.
ROLLUP_SPAN_SECONDS = 6 * 3_600
ROLLUP_BUCKET = 900
DELETE_BATCH = 5_000
BATCH_IDS_KEPT = timedelta(days=1)  # the log writer's stored-batch ids: a batch is sent again within seconds
CURL_KEY = "$PAYDECK_SECRET_KEY"
CURL_HEADERS = ("content-type", "idempotency-key", "paydeck-version", "accept")


@functools.cache
def engine() -> SearchEngine:
    """The configured engine, chosen once: Meilisearch when MEILI_URL is set (or asked for), else PostgreSQL."""
    settings = get_settings()
    use_meili = settings.search_engine == "meilisearch" or (settings.search_engine == "auto"
                                                             and bool(settings.meili_url))
    if use_meili:
        return MeiliEngine(settings.meili_url or "", settings.meili_key, settings.meili_index)
    return PostgresEngine()


async def search(ctx: RequestContext, flt: LogFilter, query: str | None, limit: int,
                 after: str | None) -> Page[dict[str, Any]]:
    scope = ctx.require(read(RESOURCE))
    text = normalise_query(query)
    ids, has_more = await engine().search(scope, flt.validated(), text, limit, decode_cursor(after, "after"))
    # Read back from PostgreSQL: an index entry whose row retention has just removed simply drops out.
    rows = await queries.by_ids(scope, ids)
    return Page(rows, has_more, encode_cursor(ids[-1]) if has_more and ids else None)


async def get(ctx: RequestContext, log_id: str) -> dict[str, Any]:
    scope = ctx.require(read(RESOURCE))
    row = await queries.get(scope, log_id) if len(log_id) <= 40 else None
    if row is None:
        raise NotFound(f"no request log '{log_id}' in this account and mode", param="id")
    return row


@dataclass
class Series:
    bucket_seconds: int
    points: list[dict[str, Any]]


async def series(ctx: RequestContext, flt: LogFilter, query: str | None, since: datetime | None,
                 until: datetime | None) -> Series:
    """Requests and errors per bucket (a minute unless the range needs more than 1,500 of them)."""
    scope = ctx.require(read(RESOURCE))
    until = until or clock.now()
    since = since or until - timedelta(hours=1)
    if since >= until:
        raise InvalidRequest("the start of the range must be before its end", param="since")
    span = (until - since).total_seconds()
    bucket = next((b for b in BUCKETS if span / b <= MAX_BUCKETS), BUCKETS[-1])
    query = normalise_query(query)
    rollups = span > ROLLUP_SPAN_SECONDS and not query and _unfiltered(flt.validated())
    if rollups:  # counted as the logs were written: the default 24 hours cost the same at any traffic
        bucket = max(bucket, ROLLUP_BUCKET)
    since = datetime.fromtimestamp(since.timestamp() // bucket * bucket, UTC)
    if rollups:
        table = "analytics_api_rollups_hourly" if bucket % 3_600 == 0 else "analytics_api_rollups"
        rows = await queries.stats_from_rollups(scope, since, until, bucket, table)
    else:
        rows = await queries.stats(scope, flt, query, since, until, bucket)
    counts = {r["bucket"]: r for r in rows}
    points, at = [], since
    while at < until:  # every bucket, including empty ones, so the chart has no gaps
        row = counts.get(at)
        points.append({"at": at, "requests": row["requests"] if row else 0, "errors": row["errors"] if row else 0})
        at += timedelta(seconds=bucket)
    return Series(bucket, points)


def _unfiltered(flt: LogFilter) -> bool:
    """No filter but the time range (which the series takes as its own range)."""
    return flt == LogFilter(since=flt.since, until=flt.until)


def as_curl(row: dict[str, Any], base_url: str) -> str:
    """The request as a curl command; the key is a placeholder, secrets stay redacted."""
    params = row.get("query_params") or {}
    headers = row.get("request_headers") or {}
    url = base_url.rstrip("/") + row["path"] + (("?" + urlencode(params, doseq=True)) if params else "")
    parts = ["curl", "-X", row["method"], shlex.quote(url)]
    if row.get("source") in ("api", "compat"):
        parts += ["-H", shlex.quote(f"Authorization: Bearer {CURL_KEY}")]
    for name in CURL_HEADERS:
        if name in headers:
            parts += ["-H", shlex.quote(f"{name}: {headers[name]}")]
    if row.get("request_body"):
        parts += ["--data-raw", shlex.quote(row["request_body"])]
    return " ".join(parts).replace(shlex.quote(f"Authorization: Bearer {CURL_KEY}"),
                                   f'"Authorization: Bearer {CURL_KEY}"')


# --- retention (run by the apilogs.retention job) -----------------------------------------------


async def apply_retention(now: datetime | None = None, ahead_days: int = 3) -> dict[str, int]:
    """Enforce every account's retention once.

    One `now` for the whole run: a record that started before `now - days` is
    removed, one at or after it is kept. Whole days older than the longest
    retention in use go by dropping their partition; then every account loses
    its remaining rows older than its own cutoff, in batches (an index on
    (account_id, started_at) keeps each probe short). The search index forgets
    the same records.
    """
    now = now or clock.now()
    await partitions.ensure_ahead(ahead_days, now.date())
    retention = {r["id"]: int(r["log_retention_days"]) for r in await queries.retention_days()}
    longest = max(retention.values(), default=30)
    dropped = await partitions.drop_before(now - timedelta(days=longest))
    if dropped:
        await _forget(None, now - timedelta(days=longest))
    deleted = 0
    # Every account, the longest retention included: the day holding its cutoff is only partly expired.
    for account_id, days in retention.items():
        cutoff = now - timedelta(days=days)
        removed_here = 0
        while True:
            removed = await queries.delete_batch(account_id, cutoff, DELETE_BATCH)
            removed_here += removed
            if removed < DELETE_BATCH:
                break
        if removed_here:
            deleted += removed_here
            await _forget(account_id, cutoff)
    await queries.forget_batches(now - BATCH_IDS_KEPT)
    return {"partitions_dropped": len(dropped), "rows_deleted": deleted}


async def _forget(account_id: str | None, cutoff: datetime) -> None:
    try:
        await engine().remove_older(account_id, cutoff)
    except Exception:  # retried by the next run: the rows are gone from PostgreSQL, searches skip them
        log.warning("could not remove expired records from the search index", exc_info=True)
