"""Security headers on every response, set once as the response starts (a Litestar `before_send` hook).

Every answer: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
`Referrer-Policy: same-origin`. HTML pages also get a Content-Security-Policy
that the vendored assets satisfy: scripts, styles and connections from this
origin only, nothing inline, no framing. Two pages run third-party bundles
that inject their own styles (Redoc and GraphiQL): they get the same policy
with inline styles allowed (and Redoc, which builds its search worker from a
blob, `worker-src blob:`); scripts stay this origin's files. Anything else (JSON,
static files) gets a policy that allows nothing, which costs nothing and
keeps a mis-served file from running anything.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

BASE = ("default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DASHBOARD = f"{BASE}; style-src 'self'"
GRAPHIQL = f"{BASE}; style-src 'self' 'unsafe-inline'"
REDOC = f"{BASE}; style-src 'self' 'unsafe-inline'; worker-src blob:"
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def policy_for(path: str, content_type: str) -> str:
    if not content_type.startswith("text/html"):
        return NOT_A_PAGE
    if path == "/schema" or path.startswith("/schema/"):
        return REDOC
    if path == "/graphql":
        return GRAPHIQL
    return DASHBOARD


async def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in ALWAYS.items():
        if name not in headers:
            headers[name] = value
    if "content-security-policy" not in headers:
        headers["content-security-policy"] = policy_for(scope.get("path", ""), headers.get("content-type") or "")
