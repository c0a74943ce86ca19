"""Every request gets a `req_…` id: in scope state, in the Request-Id header, in error bodies, on its log lines.

The id is also in a contextvar for the request's lifetime, so `server.logs` puts it on every log
record written while serving the request, however deep the code that logs.
"""

from __future__ import annotations

from contextvars import ContextVar

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.ids import new_id

_current: ContextVar[str | None] = ContextVar("paydeck_request_id", default=None)


def current() -> str | None:
    """The id of the request being served, or None outside a request (a background job)."""
    return _current.get()


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["Request-Id"] = request_id
            await send(message)

        token = _current.set(request_id)
        try:
            await app(scope, receive, send_with_id)
        finally:
            _current.reset(token)

    return middleware


def start(scope: Scope) -> str:
    """A new id for a request served ahead of the middleware stack (server.events.sse's live streams): in scope
    state and in the contextvar. Set, not reset: the server runs each request in a task of its own, whose
    context ends with it."""
    request_id = new_id("req")
    scope.setdefault("state", {})["request_id"] = request_id
    _current.set(request_id)
    return request_id
