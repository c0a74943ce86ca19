"""How many live connections (SSE streams, GraphQL WebSockets) one process holds, and its cap.

Past PAYDECK_MAX_LIVE_CONNECTIONS a new stream is refused with 503 and
`Retry-After` (a WebSocket upgrade too, when the server can answer it with an
HTTP response; otherwise it is closed with 1013 "try again later"), so a
full process sheds load to its siblings instead of slowing every client down.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from server.errors import ServiceUnavailable
from server.settings import get_settings

RETRY_AFTER_SECONDS = 5
TRY_AGAIN_LATER = 1013  # WebSocket close code


class LiveConnections:
    def __init__(self) -> None:
        self.open = 0

    def admit(self) -> None:
        """ServiceUnavailable (503, Retry-After) when this process already holds its cap."""
        cap = get_settings().max_live_connections
        if self.open >= cap:
            raise ServiceUnavailable(f"this server holds its maximum of {cap} live connections; retry in "
                                     f"{RETRY_AFTER_SECONDS}s (another server may take it)",
                                     retry_after=RETRY_AFTER_SECONDS)

    def held(self) -> _Held:
        """Count one connection for as long as the block runs."""
        return _Held(self)


class _Held:
    """`with live.held():` as a two-slot object: a generator-based context manager costs ~0.3 KiB more, per
    connection, for as long as it lives (BENCHMARKS.md "Scale-out")."""

    __slots__ = ("count",)

    def __init__(self, count: LiveConnections) -> None:
        self.count = count

    def __enter__(self) -> None:
        self.count.open += 1

    def __exit__(self, *exc: object) -> None:
        self.count.open -= 1


live = LiveConnections()


def websocket_cap(app: ASGIApp) -> ASGIApp:
    """Count every WebSocket for its whole life; refuse the upgrade when the process is full."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.WEBSOCKET:
            await app(scope, receive, send)
            return
        try:
            live.admit()
        except ServiceUnavailable as exc:
            await _refuse(scope, send, exc)
            return
        with live.held():
            await app(scope, receive, send)

    return middleware


async def _refuse(scope: Scope, send: Send, exc: ServiceUnavailable) -> None:
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = exc.to_dict()["message"].encode()
        await send({"type": "websocket.http.response.start", "status": 503,
                    "headers": [(b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                                (b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": "too many live connections"})
