"""The Meilisearch engine: an index fed from PostgreSQL by a stored position.

The indexer (`index_pending`, run by the `apilogs.index` job) reads rows past
the position kept in `search_index_positions`, sends them in batches, waits
for Meilisearch to accept them and only then moves the position, so a crash
or an unreachable Meilisearch delays indexing but never skips a record.
Documents hold only already-redacted fields. Typo tolerance is off so the
engine answers exactly like the PostgreSQL one (see search.py for the contract).
Path prefixes are matched at "/" boundaries.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from server import clock
from server.apilogs import queries
from server.apilogs.filters import REQUEST_ID_RE, LogFilter, words
from server.context import Scope
from server.ids import ALPHABET

log = logging.getLogger(__name__)
POSITION = "meilisearch:api_request_logs"
BATCH = 2_000
SETTLE_SECONDS = 1.0
FILTERABLE = ["account_id", "livemode", "status_code", "status_class", "method", "path_prefixes", "api_key_id",
              "error_type", "started_ms", "id_ms", "idempotency_key", "source", "object_ids", "id"]
SEARCHABLE = ["id", "path", "operation_name", "error_message", "request_body", "response_body"]


def id_ms(log_id: str) -> int:
    """The creation time encoded in a time-sortable id (see server/ids.py)."""
    value = 0
    for ch in log_id.rsplit("_", 1)[-1][:10]:
        value = value * 32 + ALPHABET.index(ch)
    return value


def path_prefixes(path: str) -> list[str]:
    parts = path.split("?", 1)[0].split("/")
    return ["/".join(parts[:i]) for i in range(2, len(parts) + 1)]


def document(row: dict[str, Any]) -> dict[str, Any]:
    started: datetime = row["started_at"]
    return {
        "id": row["id"], "account_id": row["account_id"], "livemode": row["livemode"], "source": row["source"],
        "api_key_id": row["api_key_id"], "method": row["method"], "path": row["path"],
        "path_prefixes": path_prefixes(row["path"]), "operation_name": row["operation_name"],
        "status_code": row["status_code"], "status_class": f"{row['status_code'] // 100}xx",
        "error_type": row["error_type"], "error_message": row["error_message"],
        "started_ms": int(started.timestamp() * 1000), "id_ms": id_ms(row["id"]),
        "idempotency_key": row["idempotency_key"], "request_body": row["request_body"],
        "response_body": row["response_body"], "object_ids": list(row["object_ids"] or []),
    }


def quote(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(scope: Scope, flt: LogFilter, query: str) -> str:
    parts = [f"account_id = {quote(scope.account_id)}", f"livemode = {quote(scope.livemode)}"]
    codes, classes = flt.status_codes_and_classes()
    status = [f"status_code = {c}" for c in codes] + [f"status_class = {quote(f'{c}xx')}" for c in classes]
    if status:
        parts.append("(" + " OR ".join(status) + ")")
    simple = {"method": flt.method and flt.method.upper(), "api_key_id": flt.api_key_id,
              "error_type": flt.error_type, "idempotency_key": flt.idempotency_key, "source": flt.source,
              "object_ids": flt.object_id, "path_prefixes": flt.path_prefix and flt.path_prefix.rstrip("/")}
    parts += [f"{name} = {quote(value)}" for name, value in simple.items() if value]
    if flt.since:
        parts.append(f"started_ms >= {int(flt.since.timestamp() * 1000)}")
    if flt.until:
        parts.append(f"started_ms < {int(flt.until.timestamp() * 1000)}")
    if REQUEST_ID_RE.match(query):
        parts.append(f"id = {quote(query)}")
    return " AND ".join(parts)


class MeiliEngine:
    name = "meilisearch"

    def __init__(self, url: str, key: str | None, index_name: str) -> None:
        from meilisearch_python_sdk import AsyncClient

        self.client = AsyncClient(url, key)
        self.index_name = index_name
        self._ready = False

    async def _index(self):
        if not self._ready:
            from meilisearch_python_sdk.models.settings import TypoTolerance

            index = await self.client.get_or_create_index(self.index_name, primary_key="id")
            tasks = [await index.update_filterable_attributes([*FILTERABLE]),
                     await index.update_sortable_attributes(["id", "started_ms"]),
                     await index.update_searchable_attributes(SEARCHABLE),
                     await index.update_typo_tolerance(TypoTolerance(enabled=False))]
            for task in tasks:
                await self.client.wait_for_task(task.task_uid, timeout_in_ms=60_000)
            self._ready = True
        return self.client.index(self.index_name)

    async def search(self, scope: Scope, flt: LogFilter, query: str, limit: int,
                     after: str | None) -> tuple[list[str], bool]:
        index = await self._index()
        expression = filter_expression(scope, flt, query)
        text = "" if REQUEST_ID_RE.match(query) else " ".join(words(query))
        if query and not REQUEST_ID_RE.match(query) and not text:
            return [], False
        extra = 0
        if after:
            expression += f" AND id_ms <= {id_ms(after)}"
            extra = 50  # records of the cursor's own millisecond, dropped below
        result = await index.search(text or None, filter=expression, sort=["id:desc"], limit=limit + 1 + extra,
                                    attributes_to_retrieve=["id"], matching_strategy="all")
        ids = [hit["id"] for hit in result.hits if after is None or hit["id"] < after]
        return ids[:limit], len(ids) > limit

    async def index_pending(self, settle_seconds: float = SETTLE_SECONDS) -> int:
        index = await self._index()
        done = 0
        while True:
            start = await queries.position(POSITION)
            rows = await queries.rows_after(start, BATCH, settle_seconds)
            if not rows:
                return done
            task = await index.add_documents([document(r) for r in rows], primary_key="id")
            status = await self.client.wait_for_task(task.task_uid, timeout_in_ms=120_000)
            if str(getattr(status, "status", "")).lower().endswith("failed"):
                raise RuntimeError(f"Meilisearch refused a batch: {getattr(status, 'error', None)}")
            await queries.set_position(POSITION, rows[-1]["seq"])
            done += len(rows)

    async def remove_older(self, account_id: str | None, cutoff: datetime) -> None:
        index = await self._index()
        expression = f"started_ms < {int(cutoff.timestamp() * 1000)}"
        if account_id is not None:
            expression = f"account_id = {quote(account_id)} AND {expression}"
        task = await index.delete_documents_by_filter(expression)
        await self.client.wait_for_task(task.task_uid, timeout_in_ms=120_000)

    async def rebuild(self) -> int:
        index = await self._index()
        task = await index.delete_all_documents()
        await self.client.wait_for_task(task.task_uid, timeout_in_ms=120_000)
        await queries.set_position(POSITION, 0)
        return await self.index_pending(settle_seconds=0)

    async def lag(self) -> dict:
        position = await queries.position(POSITION)
        newest = await queries.max_seq()
        oldest = await queries.rows_after(position, 1, 0)
        seconds = 0.0
        if oldest:
            seconds = max(0.0, (clock.now() - oldest[0]["started_at"]).total_seconds())
        return {"engine": self.name, "lag_records": max(0, newest - position), "lag_seconds": round(seconds, 1)}
