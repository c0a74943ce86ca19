"""Errors in Stripe's shape, types and statuses, so the SDKs raise the exception a Stripe integration catches.

`{"error": {"type", "code", "decline_code", "message", "param", "doc_url", "request_id"}}` (`error_shape.py`
makes it, for these handlers and for the answers given before routing). The SDKs choose
their exception by status: 400/404 `InvalidRequestError` (or `IdempotencyError` by type), 401
`AuthenticationError`, 402 `CardError`, 403 `PermissionError`, 429 `RateLimitError`, else `APIError`.
Paydeck's own statuses are translated: a 409 (an object in the wrong state) and a 415/422 are Stripe's 400
`invalid_request_error`, as Stripe answers them. The one error object is still Paydeck's `PaydeckError`;
only its rendering differs here.
"""

from __future__ import annotations

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from server import rest_errors
from server.errors import ErrorCode, PaydeckError
from server.stripe_compat import error_shape


def stripe_error(request: Request, exc: PaydeckError) -> Response:
    status, body = error_shape.stripe_error(exc.status, exc.to_dict())
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return rest_errors.error_response(request, status, body, headers)


def validation_error(request: Request, exc: ValidationException) -> Response:
    return stripe_error(request, PaydeckError(str(exc.detail), code=ErrorCode.PARAMETER_INVALID))


def http_error(request: Request, exc: HTTPException) -> Response:
    error = PaydeckError(str(exc.detail), code=ErrorCode.of_http(exc.status_code))
    error.status = exc.status_code
    error.type = rest_errors.HTTP_TYPES.get(exc.status_code, "api_error" if exc.status_code >= 500
                                            else "invalid_request_error")
    return stripe_error(request, error)


def unexpected_error(request: Request, exc: Exception) -> Response:
    """Logged and answered by the API's own handler (a 500 or, for an outage, a 503), in the Stripe shape."""
    return rest_errors.unexpected_error(request, exc)


HANDLERS = {
    PaydeckError: stripe_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
