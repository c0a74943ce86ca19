"""The error tree. Domain code raises these; each surface renders them.

REST: `{"error": {"type", "code", "message", "param", "request_id"}}` with the
status below. GraphQL mutations: a typed member of the result union.
Pages: the form re-rendered with the message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every machine-readable `code` the API answers with. Clients match on these: never rename one.

    A new error reuses a code when a client would handle it the same way; otherwise it adds one here
    (`tests/test_errors.py` fails on a `code="..."` string anywhere else).
    """

    # Bad input
    INVALID_REQUEST = "invalid_request"
    PARAMETER_INVALID = "parameter_invalid"
    PARAMETER_UNKNOWN = "parameter_unknown"  # a parameter the endpoint does not take (the Stripe-compatible API)
    PARAMETER_MISSING = "parameter_missing"
    AMOUNT_TOO_LARGE = "amount_too_large"
    INVALID_NUMBER = "invalid_number"
    INVALID_EXPIRY = "invalid_expiry"
    INVALID_CVC = "invalid_cvc"
    INVALID_RULE = "invalid_rule"
    URL_NOT_ALLOWED = "url_not_allowed"
    CLIENT_SECRET_INVALID = "client_secret_invalid"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # Objects and their state
    RESOURCE_MISSING = "resource_missing"
    CONFLICT = "conflict"
    UNPROCESSABLE = "unprocessable"
    PAYMENT_INTENT_UNEXPECTED_STATE = "payment_intent_unexpected_state"
    PAYMENT_INTENT_ACTION_IN_PROGRESS = "payment_intent_action_in_progress"
    CUSTOMER_CLOSED = "customer_closed"
    CUSTOMER_SUSPENDED = "customer_suspended"
    BALANCE_NOT_ZERO = "balance_not_zero"
    TRANSACTION_ALREADY_PROCESSED = "transaction_already_processed"
    FX_RATE_MISSING = "fx_rate_missing"
    BENCHMARK_PERIOD_RELEASED = "benchmark_period_released"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    CARD_DECLINED = "card_declined"  # the Stripe-compatible API's 402; `decline_code` says why
    # Disputes and claims
    CHARGE_DISPUTED = "charge_disputed"
    CHARGE_ALREADY_DISPUTED = "charge_already_disputed"
    DISPUTE_UNEXPECTED_STATE = "dispute_unexpected_state"
    DISPUTE_PAST_DUE = "dispute_past_due"
    TEST_MODE_ONLY = "test_mode_only"
    TRANSFER_ALREADY_CLAIMED = "transfer_already_claimed"
    TRANSFER_CLAIM_UNEXPECTED_STATE = "transfer_claim_unexpected_state"
    TRANSFER_CLAIM_WINDOW_CLOSED = "transfer_claim_window_closed"
    TRANSFER_CLAIM_ALREADY_APPEALED = "transfer_claim_already_appealed"
    # Who is asking
    INVALID_API_KEY = "invalid_api_key"
    API_KEY_MISSING = "api_key_missing"
    API_KEY_MALFORMED = "api_key_malformed"
    API_KEY_UNKNOWN = "api_key_unknown"
    API_KEY_REVOKED = "api_key_revoked"
    API_KEY_EXPIRED = "api_key_expired"
    AUTHORIZATION_HEADER_INVALID = "authorization_header_invalid"
    AUTHENTICATION_REQUIRED = "authentication_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    LOGIN_REQUIRED = "login_required"
    NO_MEMBERSHIP = "no_membership"
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    # Retries, limits and our side
    IDEMPOTENCY_ERROR = "idempotency_error"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    RATE_LIMITED = "rate_limited"
    SERVICE_UNAVAILABLE = "service_unavailable"
    PROCESSOR_UNAVAILABLE = "processor_unavailable"
    INTERNAL_ERROR = "internal_error"
    # Refusals of the HTTP layer (routing, methods, sizes) before a handler runs: `http_<status>`
    HTTP_400 = "http_400"
    HTTP_401 = "http_401"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    HTTP_405 = "http_405"
    HTTP_406 = "http_406"
    HTTP_409 = "http_409"
    HTTP_413 = "http_413"
    HTTP_415 = "http_415"
    HTTP_422 = "http_422"
    HTTP_429 = "http_429"
    HTTP_500 = "http_500"
    HTTP_501 = "http_501"
    HTTP_503 = "http_503"
    HTTP_ERROR = "http_error"  # any other status

    @classmethod
    def of_http(cls, status: int) -> ErrorCode:
        """`http_<status>` for a refusal of the HTTP layer."""
        try:
            return cls(f"http_{status}")
        except ValueError:
            return cls.HTTP_ERROR

    @classmethod
    def of_customer_status(cls, status: str) -> ErrorCode:
        """Why a customer cannot send money: `customer_suspended` or `customer_closed`."""
        return cls.CUSTOMER_SUSPENDED if status == "suspended" else cls.CUSTOMER_CLOSED


class PaydeckError(Exception):
    status = 400
    type = "invalid_request_error"
    code = ErrorCode.INVALID_REQUEST

    def __init__(self, message: str, *, param: str | None = None, code: ErrorCode | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code:
            self.code = code
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            body["param"] = self.param
        body.update(self.extra)
        return body


class InvalidRequest(PaydeckError):
    """Bad input; `param` names the field."""


class NotFound(PaydeckError):
    status = 404
    code = ErrorCode.RESOURCE_MISSING


class Conflict(PaydeckError):
    status = 409
    code = ErrorCode.CONFLICT


class Unprocessable(PaydeckError):
    status = 422
    code = ErrorCode.UNPROCESSABLE


class PaymentRequired(PaydeckError):
    """A balance (a customer's wallet) is too low. Not a card problem: cards decline inside a 200 payment."""

    status = 402
    code = ErrorCode.INSUFFICIENT_FUNDS


class AuthenticationFailed(PaydeckError):
    status = 401
    type = "authentication_error"
    code = ErrorCode.INVALID_API_KEY


class PermissionDenied(PaydeckError):
    status = 403
    type = "permission_error"
    code = ErrorCode.PERMISSION_DENIED


class UnsupportedMediaType(PaydeckError):
    """A request body in a format the endpoint does not read (the API reads JSON)."""

    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class RateLimited(PaydeckError):
    status = 429
    type = "rate_limit_error"
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(PaydeckError):
    """Something the request needs (PostgreSQL, Redis, a free pool connection) cannot serve it right now.

    Nothing was done that the client cannot retry: it should try again after `retry_after` seconds.
    """

    status = 503
    type = "api_error"
    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str = "the service is briefly unavailable; retry shortly", *,
                 retry_after: int = 1, param: str | None = None, code: ErrorCode | None = None) -> None:
        super().__init__(message, param=param, code=code)
        self.retry_after = retry_after


class IdempotencyError(PaydeckError):
    type = "idempotency_error"
    code = ErrorCode.IDEMPOTENCY_ERROR
