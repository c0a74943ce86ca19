"""Render every failure of a REST or page request in the one JSON error shape."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from server.errors import PaydeckError, ServiceUnavailable
from server.ids import new_id
from server.outage import is_connection_failure

log = logging.getLogger(__name__)

HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
              405: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error"}


def error_response(request: Request, status: int, body: dict[str, Any],
                   headers: dict[str, str] | None = None) -> Response:
    # Routing failures (404, 405) happen before the request-id middleware runs: give them one here.
    state = request.scope.setdefault("state", {})  # type: ignore[typeddict-item]
    request_id = state.setdefault("request_id", new_id("req"))
    body["request_id"] = request_id
    return Response({"error": body}, status_code=status, headers={**(headers or {}), "Request-Id": request_id},
                    media_type="application/json")


def paydeck_error(request: Request, exc: PaydeckError) -> Response:
    retry_after = getattr(exc, "retry_after", None)  # RateLimited, ServiceUnavailable
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(request, exc.status, exc.to_dict(), headers)


def _param_of(detail: dict[str, Any]) -> str | None:
    # A body field named in the message beats the key "data" (the whole body).
    match = re.search(r"at `\$\.([\w.\[\]]+)`", str(detail.get("message", "")))
    if match:
        return match.group(1)
    match = re.search(r"unknown field `([^`]+)`", str(detail.get("message", "")), re.IGNORECASE)
    if match:
        return match.group(1)
    key = detail.get("key")
    return str(key) if key else None


def validation_error(request: Request, exc: ValidationException) -> Response:
    details = exc.extra if isinstance(exc.extra, list) else []
    if details:
        first = details[0] if isinstance(details[0], dict) else {"message": str(details[0])}
        param = _param_of(first)
        message = str(first.get("message") or exc.detail)
        if param and param not in message:
            message = f"{param}: {message}"
    else:
        param, message = None, str(exc.detail)
    if "JSON is malformed" in message or "Malformed" in message or "invalid json" in message.lower():
        message = "the request body is not valid JSON"
    return error_response(request, 400, {"type": "invalid_request_error", "code": "parameter_invalid",
                                         "message": message, **({"param": param} if param else {})})


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s: %s", status, exc.detail)
    message = str(exc.detail)
    if status == 404 and message in ("Not Found", ""):
        message = f"no route for {request.method} {request.url.path}"
    if status == 413:
        message = "request body too large"
    headers = dict(exc.headers or {})
    return error_response(request, status, {"type": HTTP_TYPES.get(status, "api_error"),
                                            "code": f"http_{status}", "message": message}, headers)


def unexpected_error(request: Request, exc: Exception) -> Response:
    if is_connection_failure(exc):  # PostgreSQL or Redis is down or restarting: retry, not a bug (server.outage)
        return paydeck_error(request, ServiceUnavailable())
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, {"type": "api_error", "code": "internal_error",
                                         "message": "an internal error occurred; the request id identifies it"})


HANDLERS = {
    PaydeckError: paydeck_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
