"""REST: GET /v1/request_logs (search, filters, cursor pages) and GET /v1/request_logs/{id}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from server.apilogs import service
from server.apilogs.filters import LogFilter
from server.context import RequestContext
from server.instants import parse_instant
from server.pagination import parse_limit
from server.rest import api_context, list_body


def log_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "request_log", "livemode": row["livemode"], "source": row["source"],
        "api_key": row["api_key_id"], "api_key_type": row["api_key_type"], "user": row["user_id"],
        "method": row["method"], "path": row["path"],
        "graphql": {"operation_name": row["operation_name"], "operation_type": row["operation_type"]}
        if row["operation_type"] else None,
        "query_params": row["query_params"], "request_headers": row["request_headers"],
        "request_body": row["request_body"], "status": row["status_code"],
        "response_headers": row["response_headers"], "response_body": row["response_body"],
        "error": {"type": row["error_type"], "code": row["error_code"], "message": row["error_message"]}
        if row["error_type"] else None,
        "created": int(row["started_at"].timestamp()), "started_at": row["started_at"].isoformat(),
        "duration_ms": row["duration_ms"], "api_version": row["api_version"],
        "idempotency_key": row["idempotency_key"], "idempotent_replayed": row["idempotent_replayed"],
        "ip_address": row["ip_address"], "object_ids": list(row["object_ids"] or []),
    }


def _time(params: Any, name: str) -> datetime | None:
    return parse_instant(params.get(name), name)


def filter_from_query(params: Any) -> LogFilter:
    status = [s.strip() for value in params.getall("status", []) for s in value.split(",") if s.strip()]
    return LogFilter(status=status, method=params.get("method") or None, path_prefix=params.get("path") or None,
                     api_key_id=params.get("api_key") or None, error_type=params.get("error_type") or None,
                     since=_time(params, "created[gte]"), until=_time(params, "created[lt]"),
                     idempotency_key=params.get("idempotency_key") or None, source=params.get("source") or None,
                     object_id=params.get("object_id") or None)


class RequestLogController(Controller):
    path = "/v1/request_logs"
    tags = ["request_logs"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="Search request logs: `query`, `status` (404 or 4xx), `method`, `path` (prefix), `api_key`, "
                      "`error_type`, `created[gte]`, `created[lt]`, `idempotency_key`, `source`, `object_id`; "
                      "`limit` and `cursor`")
    async def list_logs(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        params = request.query_params
        page = await service.search(ctx, filter_from_query(params), params.get("query"),
                                    parse_limit(params.get("limit")), params.get("cursor"))
        return list_body(page, log_json, "/v1/request_logs")

    @get("/{log_id:str}", summary="Retrieve one request log by its request id")
    async def retrieve(self, ctx: RequestContext, log_id: str) -> dict[str, Any]:
        return log_json(await service.get(ctx, log_id))
