"""Turn a request into a RequestContext: API key or dashboard session.

An `Authorization: Bearer` header decides account and mode by itself. A
dashboard session brings the user, their role in the session's account and
the session's mode; unsafe methods then need the session's CSRF token.
"""

from __future__ import annotations

import base64
from typing import Any

from litestar.connection import ASGIConnection

from server import db, sessions
from server.accounts import queries as account_queries
from server.apilogs.capture import auth_state
from server.context import Principal, RequestContext, Scope
from server.errors import AuthenticationFailed, ErrorCode, PermissionDenied, RateLimited
from server.keys import service as keys
from server.permissions import Role
from server.replicas import router as replica_router
from server.settings import get_settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "x-csrf-token"


def client_ip(connection: ASGIConnection) -> str:
    client = connection.client
    return client.host if client else "unknown"


def bearer_token(connection: ASGIConnection) -> str | None:
    """The API key of the request's `Authorization` header (see `key_of_authorization`), None without one."""
    header = connection.headers.get("authorization")
    return None if header is None else key_of_authorization(header)


def key_of_authorization(value: str) -> str:
    """The API key of `Bearer <key>`, or of `Basic` with the key as the user name and no password — how
    Stripe's own curl examples authenticate (`curl -u sk_test_…:`), so they work here too."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() == "basic":
        token = _basic_user(token.strip())
    elif scheme.lower() != "bearer":
        token = ""
    if not token.strip():
        raise AuthenticationFailed("the Authorization header must be 'Bearer <API key>' (or Basic with the key "
                                   "as the user name)", code=ErrorCode.AUTHORIZATION_HEADER_INVALID)
    return token.strip()


def _basic_user(credentials: str) -> str:
    """The user name of Basic credentials when the password is empty; "" for anything else."""
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return ""
    return user if not password else ""


async def principal_for_key(token: str, connection: ASGIConnection | None = None) -> tuple[Principal, Scope]:
    principal, scope, wait = await keys.authenticate(token, get_settings().api_rate_limit_per_second)
    if connection is not None:  # known before the rate limit, so a 429 is logged too
        auth_state(connection, principal, scope)
    if wait is not None:
        raise RateLimited("too many requests for this API key; slow down and retry after the indicated delay",
                          retry_after=wait)
    return principal, scope


async def principal_for_session(session: sessions.Session) -> tuple[Principal, Scope] | None:
    member = await account_queries.member_of(session.account_id, session.user_id)
    if member is None:
        return None
    principal = Principal(kind="user", user_id=member["id"], email=member["email"], role=Role(member["role"]),
                          session_id=session.id, csrf_token=session.csrf)
    return principal, Scope(session.account_id, session.livemode)


async def build_context(connection: ASGIConnection, *, csrf_token: str | None = None,
                        check_csrf: bool = True) -> RequestContext:
    """The context for REST, GraphQL over HTTP and pages.

    `csrf_token` is the token a form carried, for requests whose body the
    caller has already parsed; otherwise the X-CSRF-Token header is used.
    Authentication reads the primary (a key revoked a moment ago is refused
    at once); the principal found decides which replicas the request's reads
    may use (server.replicas.router).
    """
    with db.replica_reads(False):
        ctx = await _authenticate(connection, csrf_token, check_csrf)
    if ctx.principal is not None:
        session = ctx.extra.get("session")
        replica_router.identify(f"key:{ctx.principal.key_id}" if ctx.principal.key_id
                                else f"user:{ctx.principal.user_id}", session.created_at if session else None)
    return ctx


async def _authenticate(connection: ASGIConnection, csrf_token: str | None, check_csrf: bool) -> RequestContext:
    ctx = RequestContext(request=connection, ip_address=client_ip(connection),
                         request_id=connection.scope.get("state", {}).get("request_id"),
                         idempotency_key=connection.headers.get("idempotency-key"))
    token = bearer_token(connection)
    if token is not None:
        ctx.principal, ctx.scope_ = await principal_for_key(token, connection)
        return ctx
    session = await sessions.load(connection.cookies.get(sessions.COOKIE))
    if session is None:
        return ctx
    resolved = await principal_for_session(session)
    if resolved is None:
        return ctx
    ctx.principal, ctx.scope_ = resolved
    ctx.extra["session"] = session
    auth_state(connection, ctx.principal, ctx.scope_)
    method = connection.scope.get("method", "GET")
    if check_csrf and method not in SAFE_METHODS:
        given = csrf_token or connection.headers.get(CSRF_HEADER)
        if not sessions.csrf_matches(session.csrf, given):
            raise PermissionDenied("missing or invalid CSRF token; reload the page and try again",
                                   code=ErrorCode.CSRF_FAILED, extra={"permission": "csrf"})
    return ctx


async def context_for_websocket(connection: ASGIConnection, init_payload: dict[str, Any] | None) -> RequestContext:
    """Subscriptions: a key in connection_init (`Authorization` or `apiKey`), else the session cookie."""
    ctx = RequestContext(request=connection, ip_address=client_ip(connection))
    payload = init_payload or {}
    raw = payload.get("Authorization") or payload.get("authorization") or payload.get("apiKey")
    if isinstance(raw, str) and raw:
        token = key_of_authorization(raw) if " " in raw.strip() else raw  # a header's value, or the bare key
        ctx.principal, ctx.scope_ = await principal_for_key(token.strip())
        return ctx
    session = await sessions.load(connection.cookies.get(sessions.COOKIE))
    if session is not None:
        resolved = await principal_for_session(session)
        if resolved:
            ctx.principal, ctx.scope_ = resolved
    return ctx
