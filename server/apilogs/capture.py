"""Capture: an ASGI middleware that copies each loggable request and hands it to the writer.

On the request path it only keeps references to the bytes that passed by and
appends one object to an in-memory buffer; redaction, parsing and the
database write happen in the writer, off the request path.

Who made the request is recorded by `server.auth.build_context`, which puts
`scope["state"]["apilog_auth"]` (see `auth_state`). Requests that never
resolved to an account (no key, bad key, not logged in) are not logged: there
is no account to show them to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_LOGGED_PREFIXES = ("/static", "/healthz", "/readyz", "/schema", "/login", "/logs/tail")
STATE_KEY = "apilog_auth"
COMPAT_PREFIX = "/stripe/v1/"


@dataclass(slots=True)
class RawCapture:
    request_id: str
    started: float
    duration_ms: float
    method: str
    path: str
    query_string: bytes
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes
    response_total: int
    client_ip: str | None
    auth: dict[str, Any] = field(default_factory=dict)


def auth_state(connection: Any, principal: Any, scope: Any) -> None:
    """Called by build_context once it knows who is asking."""
    state = connection.scope.setdefault("state", {})
    state[STATE_KEY] = {
        "account_id": scope.account_id, "livemode": scope.livemode,
        "source": _source(connection.scope.get("path", ""), principal.is_key),
        "api_key_id": principal.key_id, "api_key_type": principal.key_kind, "user_id": principal.user_id,
    }


def _source(path: str, is_key: bool) -> str:
    """`compat` for the Stripe-compatible API (server/stripe_compat), `api` for other keys, else `dashboard`."""
    if not is_key:
        return "dashboard"
    return "compat" if path.startswith(COMPAT_PREFIX) else "api"


def is_candidate(method: str, path: str) -> bool:
    if path.startswith(("/v1/", COMPAT_PREFIX)) or path == "/v1" or path == "/graphql":
        return True
    return method not in SAFE_METHODS and not path.startswith(NOT_LOGGED_PREFIXES)


def _decode_headers(raw: Any) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw or []]


def apilog_middleware(writer: Any, settings: Any):
    """A middleware factory feeding `writer` (one per app: create_app makes both)."""
    capture_limit = settings.apilog_body_max_bytes + 1024

    def factory(app: ASGIApp) -> ASGIApp:
        return _middleware(app, writer, settings.apilog_enabled, capture_limit)

    return factory


def _middleware(app: ASGIApp, writer: Any, enabled: bool, capture_limit: int) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != ScopeType.HTTP or not enabled or not writer.running
                or not is_candidate(scope["method"], scope["path"])):
            await app(scope, receive, send)
            return
        started = time.time()
        t0 = time.perf_counter()
        request_chunks: list[bytes] = []
        response_chunks: list[bytes] = []
        captured = 0
        total = 0
        status = 500
        response_headers: list[tuple[str, str]] = []

        async def receive_copy() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if chunk:
                    request_chunks.append(chunk)
            return message

        async def send_copy(message: Message) -> None:
            nonlocal status, response_headers, captured, total
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = _decode_headers(message.get("headers"))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                total += len(chunk)
                if captured < capture_limit and chunk:
                    response_chunks.append(chunk)
                    captured += len(chunk)
            await send(message)

        try:
            await app(scope, receive_copy, send_copy)
        finally:
            state = scope.get("state", {})
            auth = state.get(STATE_KEY)
            if auth is not None:
                client = scope.get("client")
                writer.add(RawCapture(
                    request_id=state.get("request_id", ""), started=started,
                    duration_ms=(time.perf_counter() - t0) * 1000.0, method=scope["method"], path=scope["path"],
                    query_string=scope.get("query_string", b""), request_headers=_decode_headers(scope.get("headers")),
                    request_body=b"".join(request_chunks), status=status, response_headers=response_headers,
                    response_body=b"".join(response_chunks)[:capture_limit], response_total=total,
                    client_ip=client[0] if client else None, auth=auth,
                ))

    return middleware
