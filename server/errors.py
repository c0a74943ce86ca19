"""The error tree. Domain code raises these; each surface renders them.

REST: `{"error": {"type", "code", "message", "param", "request_id"}}` with the
status below. GraphQL mutations: a typed member of the result union.
Pages: the form re-rendered with the message.
"""

from __future__ import annotations

from typing import Any


class PaydeckError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
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
    code = "resource_missing"


class Conflict(PaydeckError):
    status = 409
    code = "conflict"


class Unprocessable(PaydeckError):
    status = 422
    code = "unprocessable"


class PaymentRequired(PaydeckError):
    """A balance (a customer's wallet) is too low. Not a card problem: cards decline inside a 200 payment."""

    status = 402
    code = "insufficient_funds"


class AuthenticationFailed(PaydeckError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(PaydeckError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class UnsupportedMediaType(PaydeckError):
    """A request body in a format the endpoint does not read (the API reads JSON)."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(PaydeckError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(PaydeckError):
    """Something the request needs (PostgreSQL, Redis, a free pool connection) cannot serve it right now.

    Nothing was done that the client cannot retry: it should try again after `retry_after` seconds.
    """

    status = 503
    type = "api_error"
    code = "service_unavailable"

    def __init__(self, message: str = "the service is briefly unavailable; retry shortly", *,
                 retry_after: int = 1, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, param=param, code=code)
        self.retry_after = retry_after


class IdempotencyError(PaydeckError):
    type = "idempotency_error"
    code = "idempotency_error"
