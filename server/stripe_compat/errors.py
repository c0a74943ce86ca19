"""Errors in Stripe's shape, types and statuses, so the SDKs raise the exception a Stripe integration catches.

`{"error": {"type", "code", "decline_code", "message", "param", "doc_url", "request_id"}}`. The SDKs choose
their exception by status: 400/404 `InvalidRequestError` (or `IdempotencyError` by type), 401
`AuthenticationError`, 402 `CardError`, 403 `PermissionError`, 429 `RateLimitError`, else `APIError`.
Paydeck's own statuses are translated: a 409 (an object in the wrong state) and a 415/422 are Stripe's 400
`invalid_request_error`, as Stripe answers them. The one error object is still Paydeck's `PaydeckError`;
only its rendering differs here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from server import rest_errors
from server.errors import ErrorCode, PaydeckError

STATUS = {409: 400, 415: 400, 422: 400}
DOC_CODES = frozenset({  # codes Stripe documents at docs.stripe.com/error-codes/<code>
    ErrorCode.RESOURCE_MISSING, ErrorCode.PARAMETER_UNKNOWN, ErrorCode.PARAMETER_MISSING,
    ErrorCode.PARAMETER_INVALID, ErrorCode.PAYMENT_INTENT_UNEXPECTED_STATE, ErrorCode.CARD_DECLINED,
    ErrorCode.IDEMPOTENCY_KEY_IN_USE, ErrorCode.AMOUNT_TOO_LARGE, ErrorCode.INVALID_NUMBER,
    ErrorCode.INVALID_EXPIRY, ErrorCode.INVALID_CVC, ErrorCode.RATE_LIMITED,
})
DOC_URL = "https://docs.stripe.com/error-codes/{code}"


def stripe_error(request: Request, exc: PaydeckError) -> Response:
    status = STATUS.get(exc.status, exc.status)
    body: dict[str, Any] = {**exc.to_dict(), "type": _type(exc, status)}
    body.setdefault("param", None)
    body.setdefault("decline_code", None)
    body["doc_url"] = DOC_URL.format(code=exc.code) if exc.code in DOC_CODES else None
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return rest_errors.error_response(request, status, body, headers)


def _type(exc: PaydeckError, status: int) -> str:
    if exc.code == ErrorCode.CARD_DECLINED:
        return "card_error"
    if status >= 500:
        return "api_error"
    return exc.type


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
