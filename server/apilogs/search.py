"""One search interface over API request logs, two engines behind it.

`SearchEngine.search(scope, filter, query, limit, after)` returns a page of
record ids, newest first (keyset on id), for one account and mode. The
records themselves are always read back from PostgreSQL, the system of
record, so an index can never show a row that retention has removed or that
was never redacted.

Query semantics (the contract both engines pass, tests/apilogs/test_search_contract.py):
- empty → every record matching the filter;
- a request id (`req_…`) → that record only;
- otherwise the words of the query (runs of letters and digits, case-insensitive)
  must all appear as words, or word prefixes, in the record's request id, path,
  GraphQL operation name, error message or bodies.
The PostgreSQL engine also matches the whole query as a substring of the path,
error message and operation name (trigram index), a superset of the contract.

The engine in use comes from `server.apilogs.service.engine()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from server.apilogs.filters import LogFilter
from server.context import Scope


class SearchEngine(Protocol):
    name: str

    async def search(self, scope: Scope, flt: LogFilter, query: str, limit: int,
                     after: str | None) -> tuple[list[str], bool]:
        """Ids of up to `limit` records older than `after`, newest first, and whether more follow."""

    async def index_pending(self) -> int:
        """Bring the index up to date with PostgreSQL; returns the number of records indexed."""

    async def remove_older(self, account_id: str | None, cutoff: datetime) -> None:
        """Forget an account's (or, with None, every account's) records that started before `cutoff`."""

    async def rebuild(self) -> int:
        """Rebuild the whole index from PostgreSQL."""

    async def lag(self) -> dict:
        """How far the index is behind PostgreSQL."""
