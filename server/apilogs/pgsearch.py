"""The PostgreSQL search engine: full text (tsvector) plus trigram substrings, on the log table itself."""

from __future__ import annotations

from datetime import datetime

from server.apilogs import queries
from server.apilogs.filters import LogFilter
from server.context import Scope


class PostgresEngine:
    """Searches the system of record directly, so it is never behind and has nothing to rebuild."""

    name = "postgres"

    async def search(self, scope: Scope, flt: LogFilter, query: str, limit: int,
                     after: str | None) -> tuple[list[str], bool]:
        ids = await queries.search_ids(scope, flt, query, limit + 1, after)
        return ids[:limit], len(ids) > limit

    async def index_pending(self) -> int:
        return 0

    async def remove_older(self, account_id: str | None, cutoff: datetime) -> None:
        return None  # the rows are the index

    async def rebuild(self) -> int:
        return 0

    async def lag(self) -> dict:
        return {"engine": self.name, "lag_records": 0, "lag_seconds": 0.0}
