"""Stripe's error body and status, from Paydeck's: one function for every place that answers /stripe/v1.

`{"error": {"type", "code", "decline_code", "message", "param", "doc_url", ...}}`. Paydeck's 409 (an object in
the wrong state) and 415/422 are Stripe's 400 `invalid_request_error`; an `idempotency_error` keeps its status
(Stripe answers a key still in use with 409). A leaf (it imports only `server.errors`): the compat routes' own
handlers use it, and so do the answers given before routing (`server.rest_errors` for the request guard and
unrouted paths, `server.idempotency.middleware` for key conflicts), so a compat client sees one shape.
"""

from __future__ import annotations

from typing import Any

from server.errors import ErrorCode

PREFIX = "/stripe/v1"
STATUS = {409: 400, 415: 400, 422: 400}
DOC_CODES = frozenset({  # codes Stripe documents at docs.stripe.com/error-codes/<code>
    ErrorCode.RESOURCE_MISSING, ErrorCode.PARAMETER_UNKNOWN, ErrorCode.PARAMETER_MISSING,
    ErrorCode.PARAMETER_INVALID, ErrorCode.PAYMENT_INTENT_UNEXPECTED_STATE, ErrorCode.CARD_DECLINED,
    ErrorCode.IDEMPOTENCY_KEY_IN_USE, ErrorCode.AMOUNT_TOO_LARGE, ErrorCode.INVALID_NUMBER,
    ErrorCode.INVALID_EXPIRY, ErrorCode.INVALID_CVC, ErrorCode.RATE_LIMITED,
})
DOC_URL = "https://docs.stripe.com/error-codes/{code}"


def is_compat(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def stripe_error(status: int, error: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and error object a Stripe client expects for Paydeck's `status` and `error` object."""
    kind = error.get("type") or "api_error"
    if kind != "idempotency_error":
        status = STATUS.get(status, status)
    code = error.get("code")
    if code == ErrorCode.CARD_DECLINED:
        kind = "card_error"
    elif status >= 500:
        kind = "api_error"
    body = {**error, "type": kind}
    body.setdefault("param", None)
    body.setdefault("decline_code", None)
    body["doc_url"] = DOC_URL.format(code=code) if code in DOC_CODES else None
    return status, body
