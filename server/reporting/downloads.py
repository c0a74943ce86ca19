"""What a CSV download needs over HTTP, for the API and the dashboard alike: the response, and the log's filters."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from litestar.response import Stream

from server.analytics.buckets import parse_time
from server.errors import InvalidRequest
from server.reporting.queries import LogExportFilter

CSV = "text/csv; charset=utf-8"
STATUS = re.compile(r"^(?P<cls>[1-5])xx$|^(?P<code>[1-5][0-9]{2})$", re.IGNORECASE)


def csv_response(name: str, chunks: AsyncIterator[bytes]) -> Stream:
    return Stream(chunks, media_type=CSV,
                  headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def log_filter(query: Any) -> LogExportFilter:
    status_class = status = None
    if raw := query.get("status"):
        found = STATUS.match(raw.strip())
        if not found:
            raise InvalidRequest("status must be a status code (404) or class (4xx)", param="status")
        status_class = int(found["cls"]) if found["cls"] else None
        status = int(found["code"]) if found["code"] else None
    method = (query.get("method") or "").upper() or None
    if method is not None and method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise InvalidRequest("method must be GET, POST, PUT, PATCH or DELETE", param="method")
    return LogExportFilter(since=parse_time(query.get("created[gte]"), "created[gte]"),
                           until=parse_time(query.get("created[lt]"), "created[lt]"), status_class=status_class,
                           status=status, method=method, path_prefix=query.get("path") or None,
                           api_key_id=query.get("api_key") or None)
