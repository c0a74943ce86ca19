"""What a log search asks for: the structured filters and the words of the search text.

A leaf of the domain (it imports nothing of it): the SQL in `queries.py`, both
engines and the service all read these, so none of them has to import another
to learn what a filter or a word is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from server.errors import InvalidRequest

REQUEST_ID_RE = re.compile(r"^req_[0-9a-hjkmnp-tv-z]{26}$")
WORD_RE = re.compile(r"[0-9a-z]+")
STATUS_RE = re.compile(r"^([1-5])(?:xx|\d\d)$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SOURCES = ("api", "compat", "dashboard")  # compat: the Stripe-compatible API at /stripe/v1
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
            raise InvalidRequest("source must be api, compat or dashboard", param="source")
        if self.since and self.until and self.since >= self.until:
            raise InvalidRequest("the start of the date range must be before its end", param="created")
        for name in ("path_prefix", "api_key_id", "error_type", "idempotency_key", "object_id"):
            value = getattr(self, name)
            if value is not None and len(value) > 500:
                raise InvalidRequest(f"{name} is too long", param=name)
        return self

    def status_codes_and_classes(self) -> tuple[list[int], list[int]]:
        codes: list[int] = []
        classes: list[int] = []
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
