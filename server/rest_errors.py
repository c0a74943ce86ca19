"""Render every failure of a request: the one JSON error shape for the API, a dashboard page for the dashboard.

API paths (/v1, /graphql, ...) answer `{"error": {"type", "code", "message",
"param", "request_id"}}`. Any other path is the dashboard's: an unknown URL
or a refused request there renders the dashboard's error page (inside its
shell when the visitor is logged in), never API JSON.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Receive, Scope, Send

from server.errors import ErrorCode, InvalidRequest, PaydeckError, ServiceUnavailable
from server.ids import new_id
from server.outage import is_connection_failure
from server.stripe_compat import error_shape

log = logging.getLogger(__name__)

HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
              405: "invalid_request_error", 413: "invalid_request_error", 415: "invalid_request_error",
              429: "rate_limit_error"}
NOT_DASHBOARD = ("/v1/", "/stripe/v1/", "/graphql", "/schema", "/static/", "/healthz", "/readyz")
EMPTY_BODY = "the request body is empty: send a JSON object with 'Content-Type: application/json'"


def request_id_of(request: Request) -> str:
    # Routing failures (404, 405) happen before the request-id middleware runs: give them one here.
    state = request.scope.setdefault("state", {})
    return state.setdefault("request_id", new_id("req"))


def is_dashboard(request: Request) -> bool:
    path = request.scope["path"]
    return path != "/v1" and not path.startswith(NOT_DASHBOARD)


def error_response(request: Request, status: int, body: dict[str, Any],
                   headers: dict[str, str] | None = None) -> Response:
    request_id = request_id_of(request)
    body["request_id"] = request_id
    return Response({"error": body}, status_code=status, headers={**(headers or {}), "Request-Id": request_id},
                    media_type="application/json")


class DashboardErrorPage(Response):
    """A failure shown as a dashboard page.

    Drawing the page's shell needs the visitor's session, which is async work
    that an exception handler (a plain function) cannot do: it is done when the
    response is sent.
    """

    def __init__(self, exc: PaydeckError, headers: dict[str, str] | None = None) -> None:
        super().__init__(None, status_code=exc.status, headers=headers)
        self.exc = exc

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:
        from server.web.pages import error_page

        async def send_page(scope: Scope, receive: Receive, send: Send) -> None:
            request_id = request_id_of(request)  # before drawing: the page shows it
            page = await error_page(request, self.exc)
            page.headers.update({**self.headers, "Request-Id": request_id})
            await page.to_asgi_response(app, request, **kwargs)(scope, receive, send)

        return send_page


def render(request: Request, exc: PaydeckError, headers: dict[str, str] | None = None) -> Response:
    if is_dashboard(request):
        return DashboardErrorPage(exc, headers)
    if error_shape.is_compat(request.scope["path"]):  # refused before its route's own handlers could shape it
        return error_response(request, *error_shape.stripe_error(exc.status, exc.to_dict()), headers)
    return error_response(request, exc.status, exc.to_dict(), headers)


def paydeck_error(request: Request, exc: PaydeckError) -> Response:
    retry_after = getattr(exc, "retry_after", None)  # RateLimited, ServiceUnavailable
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return render(request, exc, headers)


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


def _is_missing_body(param: str | None, message: str) -> bool:
    """Litestar's words for "no body": the missing key `'data'` (the handler's body argument)."""
    return param == "data" and message in ("'data'", "data", "") or "Input data was truncated" in message


def validation_error(request: Request, exc: ValidationException) -> Response:
    details = exc.extra if isinstance(exc.extra, list) else []
    if details:
        first = details[0] if isinstance(details[0], dict) else {"message": str(details[0])}
        param = _param_of(first)
        message = str(first.get("message") or exc.detail)
        if _is_missing_body(param, message):
            param, message = "body", EMPTY_BODY
        elif param and param not in message:
            message = f"{param}: {message}"
    else:
        param, message = None, str(exc.detail)
    if "JSON is malformed" in message or "Malformed" in message or "invalid json" in message.lower():
        param, message = "body", "the request body is not valid JSON"
    return render(request, InvalidRequest(message, param=param, code=ErrorCode.PARAMETER_INVALID))


def http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s: %s", status, exc.detail)
    message = str(exc.detail)
    if status == 404 and message in ("Not Found", ""):
        message = (f"There is no page at {request.url.path}." if is_dashboard(request) else
                   f"no route for {request.method} {request.url.path}")
    if status == 413:
        message = "request body too large"
    error = PaydeckError(message, code=ErrorCode.of_http(status))
    error.status, error.type = status, HTTP_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return render(request, error, dict(exc.headers or {}))


def unexpected_error(request: Request, exc: Exception) -> Response:
    if is_connection_failure(exc):  # PostgreSQL or Redis is down or restarting: retry, not a bug (server.outage)
        return paydeck_error(request, ServiceUnavailable())
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = PaydeckError("an internal error occurred; the request id identifies it", code=ErrorCode.INTERNAL_ERROR)
    error.status, error.type = 500, "api_error"
    return render(request, error)


HANDLERS = {
    PaydeckError: paydeck_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
