"""Turn a captured request into a redacted log row (runs in the writer, off the request path)."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from datetime import UTC, datetime
from typing import Any

from server.apilogs import redact
from server.apilogs.capture import RawCapture, RawHeaders
from server.errors import ErrorCode

API_VERSION = "2026-11-01"
OBJECT_ID_RE = re.compile(r"\b(?:pi|ch|re|cus|evt|tr|txn|dp|we|wh|po|rv|in|key)_[0-9a-hjkmnp-tv-z]{26}\b")
MAX_OBJECT_IDS = 20
# What every OBJECT_ID_RE match holds; a pattern that starts with a literal is searched for several times faster,
# so a text without it is not searched for ids at all.
OBJECT_ID_TAIL = re.compile(r"_[0-9a-hjkmnp-tv-z]{26}")

# Column order of the COPY into api_request_logs.
COLUMNS = (
    "id", "account_id", "livemode", "source", "user_id", "api_key_id", "api_key_type", "method", "path",
    "operation_name", "operation_type", "query_params", "request_headers", "request_body", "status_code",
    "response_headers", "response_body", "error_type", "error_code", "error_message", "started_at", "duration_ms",
    "api_version", "idempotency_key", "idempotent_replayed", "ip_address", "object_ids", "search",
)
# The words of the searchable fields: runs of ASCII letters and digits, lower-cased, as the query side reads them
# (filters.words) and as the former generated column found them under the embedded C locale. Computed here rather
# than by a generated column, which cost PostgreSQL a regexp over both bodies per row (BENCHMARKS.md "API request
# logs", 2026-12-01).
WORD_RE = re.compile(r"[0-9A-Za-z]+")
SEARCH_TEXT_MAX = 200_000  # characters of searchable text per row
LEXEME_MAX_BYTES = 2047  # PostgreSQL leaves longer words out of a tsvector


# Byte table for ASCII text: letters and digits lower-cased, every other byte a space (what separates WORD_RE's words).
_WORD_BYTES = bytes(
    (c | 0x20 if 65 <= c <= 90 else c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else 32 for c in range(256)
)


def search_lexemes(*texts: str | None) -> list[str]:
    """The distinct words of `texts` (joined by spaces, at most SEARCH_TEXT_MAX characters), lower-cased."""
    text = " ".join(t or "" for t in texts)[:SEARCH_TEXT_MAX]
    if text.isascii():  # the same words, by one byte translation and a split (several times faster)
        distinct = set(text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split())
    else:
        distinct = set(map(str.lower, WORD_RE.findall(text)))
    if len(text) <= LEXEME_MAX_BYTES:  # no word can be longer than the text
        return list(distinct)
    return [w for w in distinct if len(w) <= LEXEME_MAX_BYTES]


def _decode_headers(raw: RawHeaders) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def graphql_operation(body: bytes) -> tuple[str | None, str | None]:
    """(operation name, operation type) of a GraphQL request body; (None, None) if it cannot be read."""
    from graphql import OperationDefinitionNode, parse

    try:
        payload = json.loads(body or b"{}")
        query = payload.get("query") if isinstance(payload, dict) else None
        if not isinstance(query, str):
            return None, None
        wanted = payload.get("operationName")
        document = parse(query, no_location=True)
    except Exception:  # unparsable requests are still logged, without an operation
        return None, None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((d for d in operations if d.name and d.name.value == wanted), operations[0] if operations else None)
    if chosen is None:
        return None, None
    return (chosen.name.value if chosen.name else wanted), chosen.operation.value


def error_of(status: int, body_text: str, is_graphql: bool,
             parsed: Any = redact.NOT_PARSED) -> tuple[str | None, str | None, str | None]:
    """(type, code, message) from the REST error shape or GraphQL's `errors`; `parsed`, when given, is the value
    `body_text` encodes (redact.body_value's), so the body is not parsed a second time."""
    if parsed is not redact.NOT_PARSED:
        payload = parsed
    else:
        try:
            payload = redact.json_value(body_text) if body_text[:1] in ("{", "[") else None
        except (ValueError, RecursionError):
            payload = None
    if isinstance(payload, dict):
        if isinstance(payload.get("error"), dict):
            err = payload["error"]
            return (str(err.get("type") or "api_error")[:60], str(err.get("code") or "")[:80] or None,
                    str(err.get("message") or "") or None)
        if is_graphql and isinstance(payload.get("errors"), list) and payload["errors"]:
            first = payload["errors"][0] if isinstance(payload["errors"][0], dict) else {}
            ext = first.get("extensions") or {}
            return (str(ext.get("type") or "graphql_error")[:60], str(ext.get("code") or "")[:80] or None,
                    str(first.get("message") or "") or None)
    if status >= 500:
        return "api_error", ErrorCode.INTERNAL_ERROR, None
    if status >= 400:
        return "invalid_request_error", None, None
    return None, None, None


@functools.lru_cache(maxsize=4096)
def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def build(raw: RawCapture, body_limit: int) -> tuple[Any, ...] | None:
    """The row to COPY, or None when the request is not one we log.

    Dashboard sessions are logged for mutations only: form posts of the pages
    and GraphQL mutations; their reads are not API traffic.
    """
    auth = raw.auth
    request_headers, response_headers = _decode_headers(raw.request_headers), _decode_headers(raw.response_headers)
    is_graphql = raw.path == "/graphql"
    op_name = op_type = None
    if is_graphql and raw.method == "POST":
        op_name, op_type = graphql_operation(raw.request_body)
    if auth["source"] == "dashboard" and (raw.method in ("GET", "HEAD", "OPTIONS")
                                          or (is_graphql and op_type != "mutation")):
        return None
    content_type = _header(request_headers, "content-type") or ""
    response_type = _header(response_headers, "content-type") or ""
    response_body, response_value = redact.body_value(raw.response_body, response_type, body_limit)
    if raw.response_total > len(raw.response_body) and "truncated by Paydeck" not in response_body:
        response_body += redact.TRUNCATED.format(total=raw.response_total)
        response_value = redact.NOT_PARSED
    error_type, error_code, error_message = error_of(raw.status, response_body, is_graphql, response_value)
    path = redact.scrub_text(raw.path)[:500]
    id_text = path + " " + response_body
    object_ids = (list(dict.fromkeys(OBJECT_ID_RE.findall(id_text)))[:MAX_OBJECT_IDS]
                  if OBJECT_ID_TAIL.search(id_text) else [])
    idem = _header(request_headers, "idempotency-key")
    op_name = (op_name or None) and op_name[:200]
    request_body = redact.body(raw.request_body, content_type, body_limit)
    error_message = error_message and redact.scrub_text(error_message)[:2000]
    return (
        raw.request_id, auth["account_id"], auth["livemode"], auth["source"], auth.get("user_id"),
        auth.get("api_key_id"), auth.get("api_key_type"), raw.method[:10], path,
        op_name, op_type,
        redact.query_params(raw.query_string.decode("latin-1")),
        redact.headers(request_headers),
        request_body, raw.status,
        redact.headers(response_headers), response_body, error_type, error_code,
        error_message,
        datetime.fromtimestamp(raw.started, UTC), round(raw.duration_ms, 3),
        (_header(request_headers, "paydeck-version") or _header(request_headers, "stripe-version")
         or API_VERSION)[:20],
        redact.scrub_text(idem)[:255] if idem else None,
        (_header(response_headers, "idempotent-replayed") or "").lower() == "true",
        _ip(raw.client_ip), object_ids,
        search_lexemes(raw.request_id, path, op_name, error_message, request_body, response_body),
    )
