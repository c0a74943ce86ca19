"""Idempotency for every REST POST and every GraphQL mutation, implemented once, as ASGI middleware.

With an `Idempotency-Key` header (1–255 characters), the whole request runs in
one database transaction that first takes a lock on the key (without waiting:
a concurrent request with the same key gets 409) and inserts the key's row,
then runs the handler and stores its response in that row before COMMIT. The
response leaves only after the commit, so an acknowledged result is durable,
and a crash before the commit leaves neither the effect nor the key: the
retry runs afresh. A later request with the key replays the stored response
with `Idempotent-Replayed: true`; with different parameters it gets 400
`idempotency_error`. Errors (4xx) are stored and replayed too, with whatever
the handler wrote undone; a 5xx is not stored, so a retry can succeed. Keys
are scoped to account + mode and purged after `KEEP` by a worker job.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server import db
from server.auth import build_context
from server.errors import PaydeckError
from server.idempotency import queries
from server.settings import get_settings

HEADER = "idempotency-key"
MAX_KEY = 255
KEEP = timedelta(hours=24)
CONTEXT_STATE = "paydeck_ctx"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("content-type",)


class _Rollback(Exception):
    pass


def applies(scope: Scope) -> bool:
    path = scope.get("path", "")
    return scope["type"] == "http" and scope.get("method") == "POST" and (path.startswith("/v1/") or
                                                                           path == "/graphql")


def is_graphql_mutation(body: bytes) -> bool:
    from graphql import OperationDefinitionNode, OperationType, parse

    try:
        data = json.loads(body)
        document = parse(data["query"])
    except Exception:
        return False
    name = data.get("operationName")
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (name is None or (
                definition.name and definition.name.value == name)):
            return definition.operation is OperationType.MUTATION
    return False


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What "the same parameters" means: method, path and the body (JSON compared as data)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes, bool]:
    messages, chunks, size = [], [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, b"", False
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            return messages, b"", False
        if not message.get("more_body", False):
            return messages, b"".join(chunks), True


def _error(status: int, message: str, code: str = "idempotency_error") -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"type": "idempotency_error", "code": code, "message": message, "param": "Idempotency-Key"}}
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes, replayed: bool = False) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    if replayed:
        raw.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers.from_scope(scope).get(HEADER) if applies(scope) else None
        if key is None:
            await app(scope, receive, send)
            return
        messages, body, complete = await _read_body(receive, get_settings().max_body_bytes)

        async def replay_receive() -> Message:
            return messages.pop(0) if messages else await receive()

        if not complete or (scope["path"] == "/graphql" and not is_graphql_mutation(body)):
            await app(scope, replay_receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY:
            await _send(send, *_error(400, f"Idempotency-Key must be 1 to {MAX_KEY} characters"))
            return
        try:
            ctx = await build_context(ASGIConnection(scope))
        except PaydeckError:
            ctx = None
        if ctx is None or not ctx.authenticated:
            await app(scope, replay_receive, send)  # the app renders the authentication error
            return
        scope.setdefault("state", {})[CONTEXT_STATE] = ctx  # type: ignore[typeddict-item]
        print_ = fingerprint(scope["method"], scope["path"], body)
        result = await _run(app, scope, replay_receive, ctx.scope, key, print_)
        await _send(send, *result[:3], replayed=result[3])

    return middleware


async def _run(app: ASGIApp, scope: Scope, receive: Receive, tenant: Any, key: str,
               print_: str) -> tuple[int, dict[str, str], bytes, bool]:
    captured: dict[str, Any] = {"status": 500, "headers": {}, "body": []}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            captured["body"].append(message.get("body", b""))

    try:
        async with db.transaction():
            if not await queries.try_lock(tenant, key):
                return (*_error(409, "a request with this Idempotency-Key is still being processed; retry later",
                                "idempotency_key_in_use"), False)
            existing = await queries.get(tenant, key)
            if existing is not None:
                if existing["fingerprint"] != print_:
                    return (*_error(400, "this Idempotency-Key was used with different parameters or another "
                                         "endpoint; use a new key for a new request"), False)
                stored = existing["response_headers"]
                headers = json.loads(stored) if isinstance(stored, str) else stored
                return existing["response_status"], headers, existing["response_body"].encode(), True
            row_id = await queries.insert(tenant, key, print_, scope["method"], scope["path"])
            await app(scope, receive, capture)
            status, body = captured["status"], b"".join(captured["body"])
            if status >= 500:
                raise _Rollback
            kept = {k: v for k, v in captured["headers"].items() if k in KEPT_HEADERS}
            await queries.store_response(row_id, status, kept, body.decode("utf-8", "replace"))
    except _Rollback:
        pass
    headers = {k: v for k, v in captured["headers"].items() if k != "content-length"}
    return captured["status"], headers, b"".join(captured["body"]), False
