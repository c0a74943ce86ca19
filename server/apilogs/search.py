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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from server.context import Scope
from server.errors import InvalidRequest

REQUEST_ID_RE = re.compile(r"^req_[0-9a-hjkmnp-tv-z]{26}$")
WORD_RE = re.compile(r"[0-9a-z]+")
STATUS_RE = re.compile(r"^([1-5])(?:xx|\d\d)$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SOURCES = ("api", "dashboard")
MAX_QUERY = 500


@dataclass
class LogFilter:
    """Filters of a log search; every field is optional and they combine with AND."""

    status: list[str] = field(default_factory=list)  # "404", "4xx"
    method: str | None = None
    path_prefix: str | None = None
    api_key_id: str | None = None
    error_type: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    idempotency_key: str | None = None
    source: str | None = None
    object_id: str | None = None

    def validated(self) -> LogFilter:
        for value in self.status:
            if not STATUS_RE.match(value.lower()):
                raise InvalidRequest("status must be a code such as 404 or a class such as 4xx", param="status")
        if self.method and self.method.upper() not in METHODS:
            raise InvalidRequest(f"method must be one of {', '.join(METHODS)}", param="method")
        if self.source and self.source not in SOURCES:
            raise InvalidRequest("source must be api or dashboard", param="source")
        if self.since and self.until and self.since >= self.until:
            raise InvalidRequest("the start of the date range must be before its end", param="created")
        for name in ("path_prefix", "api_key_id", "error_type", "idempotency_key", "object_id"):
            value = getattr(self, name)
            if value is not None and len(value) > 500:
                raise InvalidRequest(f"{name} is too long", param=name)
        return self

    def status_codes_and_classes(self) -> tuple[list[int], list[int]]:
        codes, classes = [], []
        for value in self.status:
            value = value.lower()
            (classes if value.endswith("xx") else codes).append(int(value[0]) if value.endswith("xx") else int(value))
        return codes, classes


def words(query: str) -> list[str]:
    return WORD_RE.findall(query.lower())[:20]


def normalise_query(query: str | None) -> str:
    text = (query or "").strip()
    if len(text) > MAX_QUERY:
        raise InvalidRequest(f"the search text is longer than {MAX_QUERY} characters", param="query")
    return text


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


_engine: SearchEngine | None = None


def engine() -> SearchEngine:
    """The configured engine: Meilisearch when MEILI_URL is set (or asked for), else PostgreSQL."""
    global _engine
    if _engine is None:
        from server.settings import get_settings

        settings = get_settings()
        use_meili = settings.search_engine == "meilisearch" or (settings.search_engine == "auto"
                                                                 and bool(settings.meili_url))
        if use_meili:
            from server.apilogs.meili import MeiliEngine

            _engine = MeiliEngine(settings.meili_url or "", settings.meili_key, settings.meili_index)
        else:
            from server.apilogs.pgsearch import PostgresEngine

            _engine = PostgresEngine()
    return _engine


def reset_engine() -> None:
    global _engine
    _engine = None
