"""API metrics: what each logged request adds to its 15-minute row, for the log writer and the verifier alike.

Where the rows are kept current: in the log writer's own transaction. Every COPY of request-log rows
(`server/apilogs/queries.copy_rows`, used by the writer's flush and by `paydeck seed-logs`) adds the
batch to `analytics_api_rollups` in the same transaction, so a row is counted exactly when it is
stored: a failed flush counts nothing and is retried whole, a committed one counted everything once.
That is exact and costs one upsert per batch (a few dozen rows: requests group by bucket, endpoint
and key), with no position to keep. Following the log table by a stored position instead would
need its sequence to be gap-free in commit order, which concurrent COPYs do not give (the search
indexer waits for rows to settle for that reason).

The rollups outlive the logs: retention deletes request rows after the account's retention days,
and the API charts keep their history. The verifier therefore compares only buckets whose rows are
all still kept.

`ROW_FIELDS` are the log columns a contribution reads; `add_rows()` takes rows as tuples with those
columns at the positions the caller names, so the writer's COPY tuples need no conversion.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.analytics import histogram
from server.analytics.buckets import bucket_start

ROW_FIELDS = ("account_id", "livemode", "started_at", "method", "path", "status_code", "duration_ms",
              "api_key_id", "error_code", "error_type")
NO_KEY = ""  # the key column of requests made with a dashboard session
MAX_SEGMENTS = 8
WORD = re.compile(r"[A-Za-z][A-Za-z_\-.]{0,39}|v[0-9]{1,2}")


def endpoint_group(method: str, path: str) -> str:
    """`POST /v1/payment_intents/{id}/confirm`: ids and anything that is not a plain word become `{id}`.

    A word is letters, `_`, `-` and `.` (at most 40), or an API version such as `v1`; every object id
    has digits, so it never looks like a word. Paths are cut at MAX_SEGMENTS segments so that odd
    paths cannot make endless groups.
    """
    segments = [s for s in (path or "/").split("?", 1)[0].split("/") if s]
    kept = ["{id}" if not WORD.fullmatch(s) else s for s in segments[:MAX_SEGMENTS]]
    if len(segments) > MAX_SEGMENTS:
        kept.append("…")
    return f"{(method or '?').upper()[:10]} /{'/'.join(kept)}"[:200]


@dataclass(frozen=True)
class ApiMetric:
    column: str
    value: Callable[[int], int]  # status code -> what the request adds


API_METRICS: list[ApiMetric] = [
    ApiMetric("requests", lambda status: 1),
    ApiMetric("status_2xx", lambda status: int(200 <= status < 300)),
    ApiMetric("status_3xx", lambda status: int(300 <= status < 400)),
    ApiMetric("status_4xx", lambda status: int(400 <= status < 500)),
    ApiMetric("status_5xx", lambda status: int(status >= 500)),
]
LATENCY_COLUMN = "latency"
ERROR_CODES_COLUMN = "error_codes"


def error_code(status: int, code: str | None, error_type: str | None) -> str | None:
    """The code counted for a failed request: its error code, else its error type, else `http_<status>`."""
    if status < 400:
        return None
    return (code or error_type or f"http_{status}")[:80]


RowKey = tuple[str, bool, int, str, str]  # account, livemode, bucket (Unix seconds), endpoint, key


@dataclass
class ApiCell:
    """What a set of requests adds to one `analytics_api_rollups` row."""

    counts: dict[str, int] = field(default_factory=lambda: {m.column: 0 for m in API_METRICS})
    latency: histogram.Histogram = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)

    def merge(self, other: ApiCell) -> None:
        for column, count in other.counts.items():
            self.counts[column] += count
        self.latency = histogram.merge(self.latency, other.latency)
        for code, count in other.error_codes.items():
            self.error_codes[code] = self.error_codes.get(code, 0) + count

    def add(self, status: int, duration_ms: float | None, code: str | None) -> None:
        for column, value in _contributions(status):
            self.counts[column] += value
        histogram.record(self.latency, max(0.0, float(duration_ms or 0.0)))
        if code:
            self.error_codes[code] = self.error_codes.get(code, 0) + 1


@functools.lru_cache(maxsize=1024)
def _contributions(status: int) -> tuple[tuple[str, int], ...]:
    """What a request of this status adds to each count (the non-zero ones); a handful of statuses recur."""
    return tuple((m.column, value) for m in API_METRICS if (value := m.value(status)))


def add_rows(cells: dict[RowKey, ApiCell], rows: Iterable[Sequence[Any]], positions: Mapping[str, int]) -> None:
    """Add log rows (tuples; `positions` maps each of ROW_FIELDS to its index) into `cells`."""
    fields_of = operator.itemgetter(*[positions[name] for name in ROW_FIELDS])
    for row in rows:
        (account_id, livemode, started_at, method, path, status, duration_ms, key_id, code,
         error_type) = fields_of(row)
        started: datetime = started_at
        key = (account_id, bool(livemode), bucket_start(started.timestamp()), endpoint_group(method, path),
               key_id or NO_KEY)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = ApiCell()
        cell.add(int(status), duration_ms, error_code(int(status), code, error_type))


def cells_of(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> dict[RowKey, ApiCell]:
    cells: dict[RowKey, ApiCell] = {}
    add_rows(cells, rows, {name: columns.index(name) for name in ROW_FIELDS})
    return cells
