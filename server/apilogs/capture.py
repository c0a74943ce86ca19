"""Capture: an ASGI middleware that copies each loggable request and hands it to the writer.

On the request path it only keeps references to the bytes that pass by (the
headers as the server gave them, undecoded), two clock readings and the ids,
and appends one object to an in-memory buffer. Decoding, redaction, parsing,
search words and the database write happen in the writer's own process
(server/apilogs/writer.py), off the request path and off its core.

Who made the request is recorded by `server.auth.build_context`, which puts
`scope["state"]["apilog_auth"]` (see `auth_state`). Requests that never
resolved to an account (no key, bad key, not logged in) are not logged: there
is no account to show them to.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_LOGGED_PREFIXES = ("/static", "/healthz", "/readyz", "/schema", "/login", "/logs/tail")
STATE_KEY = "apilog_auth"
COMPAT_PREFIX = "/stripe/v1/"


RawHeaders = list[tuple[bytes, bytes]]  # as the ASGI server gives them; decoded (latin-1) by the writer


class RawCapture(msgspec.Struct, array_like=True):
    """One request as it passed by; sent as is (msgpack) to the writer's process."""

    request_id: str
    started: float
    duration_ms: float
    method: str
    path: str
    query_string: bytes
    request_headers: RawHeaders
    request_body: bytes
    status: int
    response_headers: RawHeaders
    response_body: bytes
    response_total: int
    client_ip: str | None
    auth: dict[str, Any] = {}


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


def apilog_middleware(writer: Any, settings: Any):
    """A middleware factory feeding `writer` (one per app: create_app makes both)."""
    capture_limit = settings.apilog_body_max_bytes + 1024

    def factory(app: ASGIApp) -> ASGIApp:
        return CaptureMiddleware(app, writer, settings.apilog_enabled, capture_limit)

    return factory


class CaptureMiddleware:
    """Copies what passes by; one `_Exchange` per logged request, no closures built per request."""

    __slots__ = ("app", "writer", "enabled", "capture_limit")

    def __init__(self, app: ASGIApp, writer: Any, enabled: bool, capture_limit: int) -> None:
        self.app, self.writer, self.enabled, self.capture_limit = app, writer, enabled, capture_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != ScopeType.HTTP or not self.enabled or not self.writer.running
                or not is_candidate(scope["method"], scope["path"])):
            await self.app(scope, receive, send)
            return
        started = time.time()
        t0 = time.perf_counter()
        exchange = _Exchange(receive, send, self.capture_limit)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            state = scope.get("state", {})
            auth = state.get(STATE_KEY)
            if auth is not None:
                client = scope.get("client")
                response_body = b"".join(exchange.response_chunks)
                self.writer.add(RawCapture(
                    state.get("request_id", ""), started, (time.perf_counter() - t0) * 1000.0, scope["method"],
                    scope["path"], scope.get("query_string", b""), list(scope.get("headers") or ()),
                    b"".join(exchange.request_chunks), exchange.status, exchange.response_headers,
                    response_body[:self.capture_limit] if len(response_body) > self.capture_limit else response_body,
                    exchange.total, client[0] if client else None, auth))


class _Exchange:
    """The bytes of one request and its response, as they pass by (the response body up to the limit)."""

    __slots__ = ("receive_from", "send_to", "limit", "request_chunks", "response_chunks", "captured", "total",
                 "status", "response_headers")

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.receive_from, self.send_to, self.limit = receive, send, limit
        self.request_chunks: list[bytes] = []
        self.response_chunks: list[bytes] = []
        self.captured = self.total = 0
        self.status = 500
        self.response_headers: RawHeaders = []

    async def receive(self) -> ReceiveMessage:
        message = await self.receive_from()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                self.request_chunks.append(chunk)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_headers = list(message.get("headers") or ())
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.total += len(chunk)
            if self.captured < self.limit and chunk:
                self.response_chunks.append(chunk)
                self.captured += len(chunk)
        await self.send_to(message)
