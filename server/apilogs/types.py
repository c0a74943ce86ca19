"""GraphQL types of the API request log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from server.apilogs.filters import LogFilter
from server.apilogs.service import as_curl
from server.urls import public_url


@strawberry.type(description="One HTTP header, as logged (secret values are `[REDACTED]`).")
class Header:
    name: str = strawberry.field(description="Lower-case header name.")
    value: str = strawberry.field(description="Redacted value.")


@strawberry.type(description="One API request as logged: redacted before it was stored or indexed.")
class ApiRequest:
    id: str = strawberry.field(description="The request id (`req_…`), as in the Request-Id response header.")
    livemode: bool = strawberry.field(description="The mode the request acted in.")
    source: str = strawberry.field(description=(
        "`api` (an API key), `compat` (an API key on the Stripe-compatible API) or `dashboard` (a logged-in user)."))
    user_id: str | None = strawberry.field(description="The dashboard user, for source `dashboard`.")
    api_key_id: str | None = strawberry.field(description="The API key used, for sources `api` and `compat`.")
    api_key_type: str | None = strawberry.field(description="secret, publishable or restricted.")
    method: str = strawberry.field(description="HTTP method.")
    path: str = strawberry.field(description="Request path.")
    operation_name: str | None = strawberry.field(description="GraphQL operation name, if any.")
    operation_type: str | None = strawberry.field(description="GraphQL operation type: query or mutation.")
    query_params: JSON = strawberry.field(description="Query string parameters (redacted).")
    request_headers: list[Header] = strawberry.field(description="Request headers (redacted).")
    request_body: str = strawberry.field(description="Request body (redacted, truncated with a marker).")
    status: int = strawberry.field(description="HTTP status code of the response.")
    response_headers: list[Header] = strawberry.field(description="Response headers (redacted).")
    response_body: str = strawberry.field(description="Response body (redacted, truncated with a marker).")
    error_type: str | None = strawberry.field(description="Error type, for failed requests.")
    error_code: str | None = strawberry.field(description="Error code, for failed requests.")
    error_message: str | None = strawberry.field(description="Error message, for failed requests.")
    started_at: datetime = strawberry.field(description="When the request arrived.")
    duration_ms: float = strawberry.field(description="Time to the last byte of the response, in ms.")
    api_version: str | None = strawberry.field(description="API version the request used.")
    idempotency_key: str | None = strawberry.field(description="The Idempotency-Key header, if sent.")
    idempotent_replayed: bool = strawberry.field(description="Whether the response was a stored replay.")
    ip_address: str | None = strawberry.field(description="Client IP address.")
    object_ids: list[str] = strawberry.field(description="Ids of objects the request named or returned.")
    curl: str = strawberry.field(description="The request as a curl command, with a placeholder for the key.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApiRequest:
        def headers(value: Any) -> list[Header]:
            return [Header(name=k, value=v) for k, v in sorted((value or {}).items())]

        return cls(
            id=row["id"], livemode=row["livemode"], source=row["source"], user_id=row["user_id"],
            api_key_id=row["api_key_id"], api_key_type=row["api_key_type"], method=row["method"], path=row["path"],
            operation_name=row["operation_name"], operation_type=row["operation_type"],
            query_params=JSON(row["query_params"] or {}), request_headers=headers(row["request_headers"]),
            request_body=row["request_body"], status=row["status_code"],
            response_headers=headers(row["response_headers"]), response_body=row["response_body"],
            error_type=row["error_type"], error_code=row["error_code"], error_message=row["error_message"],
            started_at=row["started_at"], duration_ms=row["duration_ms"], api_version=row["api_version"],
            idempotency_key=row["idempotency_key"], idempotent_replayed=row["idempotent_replayed"],
            ip_address=row["ip_address"], object_ids=list(row["object_ids"] or []),
            curl=as_curl(row, public_url()),
        )


@strawberry.input(description="Filters of a request-log search; all optional, combined with AND.")
class ApiRequestFilter:
    status: list[str] | None = strawberry.field(
        default=None, description="Status codes (`404`) or classes (`4xx`); any of them matches.")
    method: str | None = strawberry.field(default=None, description="HTTP method.")
    path_prefix: str | None = strawberry.field(default=None, description="Paths starting with this, e.g. `/v1/cus`.")
    api_key_id: str | None = strawberry.field(default=None, description="Requests made with this key.")
    error_type: str | None = strawberry.field(default=None, description="e.g. `invalid_request_error`.")
    created_gte: datetime | None = strawberry.field(default=None, description="Started at or after.")
    created_lt: datetime | None = strawberry.field(default=None, description="Started before.")
    idempotency_key: str | None = strawberry.field(default=None, description="The Idempotency-Key sent.")
    source: str | None = strawberry.field(default=None, description="`api`, `compat` or `dashboard`.")
    object_id: str | None = strawberry.field(default=None, description="Requests that named or returned this object.")

    def to_filter(self) -> LogFilter:
        return LogFilter(status=list(self.status or []), method=self.method, path_prefix=self.path_prefix,
                         api_key_id=self.api_key_id, error_type=self.error_type, since=self.created_gte,
                         until=self.created_lt, idempotency_key=self.idempotency_key, source=self.source,
                         object_id=self.object_id)


@strawberry.type(description="Requests and errors in one time bucket.")
class ApiRequestPoint:
    at: datetime = strawberry.field(description="Start of the bucket.")
    requests: int = strawberry.field(description="Requests that started in the bucket.")
    errors: int = strawberry.field(description="Of those, responses with status 400 or more.")


@strawberry.type(description="Requests and errors over time, for the chart on the logs page.")
class ApiRequestSeries:
    bucket_seconds: int = strawberry.field(description="Bucket width: 60 unless the range is long.")
    points: list[ApiRequestPoint] = strawberry.field(description="Every bucket of the range, oldest first.")


@strawberry.type(description="The search engine in use and how far its index is behind PostgreSQL.")
class ApiRequestSearchStatus:
    engine: str = strawberry.field(description="`postgres` or `meilisearch`.")
    lag_records: int = strawberry.field(description="Logged records not yet searchable.")
    lag_seconds: float = strawberry.field(description="Age of the oldest record not yet searchable.")
