"""The URL people reach the app at, for links we hand out (receipts, invitations, curl examples).

PAYDECK_PUBLIC_URL when set. Unset: the served host, i.e. the scheme, host
and port the current request came to; outside a request, the address the
app listens on (PAYDECK_HOST / PAYDECK_PORT, a wildcard address read as
127.0.0.1).
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from urllib.parse import urlsplit

from litestar.datastructures import Headers
from litestar.types import ASGIApp, Receive, Scope, Send

from server.ownership import recorded_owner
from server.settings import LOCAL_HOSTS, Settings, get_settings

# A Host header we are willing to put into a link: a name or an address, and a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}

_request_base: ContextVar[str | None] = ContextVar("paydeck_request_base", default=None)
_request_scheme: ContextVar[str | None] = ContextVar("paydeck_request_scheme", default=None)


def public_url(settings: Settings | None = None) -> str:
    """The base URL for links, without a trailing slash."""
    settings = settings or get_settings()
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return _request_base.get() or served_url(settings)


def running_app_url(given: str | None = None) -> str:
    """The running app, for client commands (`paydeck listen`, `simulate`): `given` (--url),
    PAYDECK_PUBLIC_URL, the data folder's `paydeck run`, or the address PAYDECK_HOST/PAYDECK_PORT name."""
    settings = get_settings()
    if given or settings.public_url:
        return given or settings.public_url or ""
    owner = recorded_owner(settings.data_dir)
    return owner.app_url if owner and owner.app_url else served_url(settings)


def served_url(settings: Settings | None = None) -> str:
    """Where the app listens, as a URL a browser on this machine can open."""
    settings = settings or get_settings()
    host = "127.0.0.1" if settings.host in _WILDCARDS else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def secure_cookies(settings: Settings | None = None) -> bool:
    """Secure cookies unless explicitly relaxed or serving plain-http localhost.

    With PAYDECK_PUBLIC_URL unset: Secure exactly when the current request came over https.
    """
    settings = settings or get_settings()
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    if not settings.public_url:
        return request_scheme() == "https"
    url = urlsplit(settings.public_url)
    return not (url.scheme == "http" and url.hostname in LOCAL_HOSTS)


def request_scheme() -> str | None:
    """`http` or `https` for the current request; None outside one."""
    return _request_scheme.get()


def public_url_middleware(app: ASGIApp) -> ASGIApp:
    """Remember the scheme and host of each request, for links made while serving it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        tokens = remember_request(scope)
        try:
            await app(scope, receive, send)
        finally:
            _request_base.reset(tokens[0])
            _request_scheme.reset(tokens[1])

    return middleware


def remember_request(scope: Scope) -> tuple[Token[str | None], Token[str | None]]:
    """Links made from here on (in this context) use this request's scheme and host. The GraphQL WebSocket's
    own path (server/gql/live_ws.py) calls it in each operation Strawberry runs for it."""
    secure = scope.get("scheme") in ("https", "wss")
    host = Headers.from_scope(scope).get("host", "")
    base = f"{'https' if secure else 'http'}://{host}" if _HOST.match(host) else None
    return _request_base.set(base), _request_scheme.set("https" if secure else "http")
