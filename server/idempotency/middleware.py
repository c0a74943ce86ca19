"""Idempotency for every REST POST and every GraphQL mutation, implemented once, as ASGI middleware.

With an `Idempotency-Key` header (1–255 characters) a request goes through
three phases, none of which holds a database connection while another runs:

1. **Claim** (one short transaction): the key's row is created and marked as
   run by this request. A row already there answers instead: its stored
   response is replayed with `Idempotent-Replayed: true`; different
   parameters get 400 `idempotency_error`; a claim still running gets 409
   `idempotency_key_in_use`; a claim whose process died (or that outlived
   `CLAIM_TTL`) is taken over, so the retry of a crashed request resumes.
2. **Handler**, with no transaction around it. Each service transaction that
   commits an effect binds it to the key in that same transaction
   (server/idempotency/effects.py), so a retry resumes or returns it instead
   of acting again.
3. **Finish** (one short transaction): the response is stored and the claim
   ends. 4xx results are stored and replayed too; a 5xx (or a GraphQL
   internal error) is not: the claim is released so a retry runs again,
   recovering whatever was bound.

Keys are scoped to account + mode and purged after `KEEP` by a worker job.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from datetime import timedelta
from typing import Any, TypeGuard

import multipart
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, ReceiveMessage, Scope, Send

from server import db, faults
from server.auth import build_context
from server.errors import ErrorCode, PaydeckError, ServiceUnavailable
from server.idempotency import effects, owner, queries
from server.ids import new_id
from server.request_guard import body_limit, is_multipart
from server.settings import get_settings
from server.stripe_compat import error_shape

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
MAX_KEY = 255
KEEP = timedelta(hours=24)
CONTEXT_STATE = "paydeck_ctx"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("content-type",)
TRANSIENT_GRAPHQL_CODES = (ErrorCode.INTERNAL_ERROR, ErrorCode.SERVICE_UNAVAILABLE)
SETTLE_PATIENCE = 30.0  # seconds a finished request waits for a connection to store its response


def applies(scope: Scope) -> TypeGuard[HTTPScope]:
    """A POST to the API (the Stripe-compatible one too) or to /graphql: what an Idempotency-Key may guard."""
    path = scope.get("path", "")
    return scope["type"] == ScopeType.HTTP and scope.get("method") == "POST" and (
        path.startswith(("/v1/", "/stripe/v1/")) or path == "/graphql")


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


def fingerprint(method: str, path: str, body: bytes, content_type: str | None = None) -> str:
    """What "the same parameters" means: method, path and the body (JSON compared as data; a multipart
    upload as its parts, whatever boundary the client chose for each try)."""
    canonical = _multipart_parts(body, content_type) if is_multipart(content_type) else None
    if canonical is None:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, UnicodeDecodeError, RecursionError):
            canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _multipart_parts(body: bytes, content_type: str | None) -> bytes | None:
    """Each part's name, file name and content hash, in order; None if the body cannot be read so."""
    boundary = multipart.parse_options_header(content_type or "")[1].get("boundary")
    if not boundary:
        return None
    try:
        parts = [[part.name, part.filename, hashlib.sha256(part.raw).hexdigest()]
                 for part in multipart.MultipartParser(io.BytesIO(body), boundary)]
    except multipart.MultipartError:
        return None
    return json.dumps(parts).encode()


async def _read_body(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes, bool]:
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


Response = tuple[int, dict[str, str], bytes, bool]  # status, headers, body, replayed


def _error(scope: Scope, status: int, type_: str, code: ErrorCode, message: str,
           headers: dict[str, str] | None = None) -> Response:
    error = {"type": type_, "code": code, "message": message}
    if type_ == "idempotency_error":
        error["param"] = "Idempotency-Key"
    error["request_id"] = scope.get("state", {}).get("request_id", "")
    if error_shape.is_compat(scope["path"]):  # a Stripe client reads Stripe's error shape
        status, error = error_shape.stripe_error(status, error)
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps({"error": error}).encode(), False


def _key_error(scope: Scope, status: int, message: str,
               code: ErrorCode = ErrorCode.IDEMPOTENCY_ERROR) -> Response:
    return _error(scope, status, "idempotency_error", code, message)


def _unavailable(scope: Scope, exc: ServiceUnavailable) -> Response:
    return _error(scope, exc.status, exc.type, exc.code, exc.message, {"retry-after": str(exc.retry_after)})


async def _send(send: Send, response: Response) -> None:
    status, headers, body, replayed = response
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    if replayed:
        raw.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if not applies(scope):
            await app(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        await _keyed(_armed(app, headers.get(faults.HEADER)), scope, receive, send, headers.get(HEADER))

    return middleware


def _armed(app: ASGIApp, fault: str | None) -> ASGIApp:
    """The app, with the test fault the request asked for armed while it runs (server/faults.py)."""
    if fault is None:
        return app

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        token = faults.arm(fault)
        try:
            await app(scope, receive, send)
            faults.before_response()
        finally:
            faults.disarm(token)

    return run


async def _keyed(app: ASGIApp, scope: HTTPScope, receive: Receive, send: Send, key: str | None) -> None:
    if key is None:
        await app(scope, receive, send)
        return
    messages, body, complete = await _read_body(receive, body_limit(scope, get_settings().max_body_bytes))

    async def replay_receive() -> ReceiveMessage:
        return messages.pop(0) if messages else await receive()

    if not complete or (scope["path"] == "/graphql" and not is_graphql_mutation(body)):
        await app(scope, replay_receive, send)
        return
    if not 1 <= len(key) <= MAX_KEY:
        await _send(send, _key_error(scope, 400, f"Idempotency-Key must be 1 to {MAX_KEY} characters"))
        return
    try:
        ctx = await build_context(ASGIConnection(scope))
    except ServiceUnavailable as exc:  # never run a keyed request unguarded because auth could not be checked
        await _send(send, _unavailable(scope, exc))
        return
    except PaydeckError:
        ctx = None
    if ctx is None or not ctx.authenticated:
        await app(scope, replay_receive, send)  # the app renders the authentication error
        return
    scope.setdefault("state", {})[CONTEXT_STATE] = ctx
    print_ = fingerprint(scope["method"], scope["path"], body, Headers.from_scope(scope).get("content-type"))
    try:
        response = await _run(app, scope, replay_receive, ctx.scope, key, print_)
    except ServiceUnavailable as exc:
        response = _unavailable(scope, exc)
    await _send(send, response)


async def _run(app: ASGIApp, scope: HTTPScope, receive: Receive, tenant: Any, key: str, print_: str) -> Response:
    token = new_id("claim")
    claimed = await queries.claim(tenant, key, print_, scope["method"], scope["path"], token, await owner.current())
    if claimed.outcome == "mismatch":
        return _key_error(scope, 400, "this Idempotency-Key was used with different parameters or another "
                                      "endpoint; use a new key for a new request")
    if claimed.outcome == "busy":
        return _key_error(scope, 409, "a request with this Idempotency-Key is still being processed; retry later",
                          ErrorCode.IDEMPOTENCY_KEY_IN_USE)
    if claimed.outcome == "replay":
        row = claimed.row
        return row["response_status"], row["response_headers"], row["response_body"].encode(), True
    row_id = claimed.row["id"]
    try:
        status, headers, body = await _handle(app, scope, receive, row_id)
    except asyncio.CancelledError:  # the server is stopping under us: let a retry run at once
        asyncio.get_running_loop().create_task(_settle(row_id, token, None))
        raise
    if _transient(scope, status, body):
        await _settle(row_id, token, None)
    else:
        kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
        await _settle(row_id, token, (status, kept, body.decode("utf-8", "replace")))
    return status, {k: v for k, v in headers.items() if k != "content-length"}, body, False


async def _handle(app: ASGIApp, scope: Scope, receive: Receive, row_id: str) -> tuple[int, dict[str, str], bytes]:
    """Run the handler under the claimed key, without a transaction; its response, captured."""
    captured: dict[str, Any] = {"status": 500, "headers": {}, "body": []}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            captured["body"].append(message.get("body", b""))

    bound = effects.activate(row_id)
    try:
        await app(scope, receive, capture)
    except faults.InjectedFault as exc:
        return _error(scope, 500, "api_error", ErrorCode.INTERNAL_ERROR, str(exc))[:3]
    finally:
        effects.deactivate(bound)
    return captured["status"], captured["headers"], b"".join(captured["body"])


def _transient(scope: Scope, status: int, body: bytes) -> bool:
    """A 5xx, or a GraphQL answer carrying an internal error: not the request's final word."""
    if status >= 500:
        return True
    if scope["path"] != "/graphql":
        return False
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") in TRANSIENT_GRAPHQL_CODES
               for e in errors)


async def _settle(row_id: str, token: str, response: tuple[int, dict[str, str], str] | None) -> None:
    """Store the final response, or (None) release the claim so a retry can run.

    The work is done, so this waits longer for a connection than new work
    does (SETTLE_PATIENCE) and tries again. If it still fails, the caller
    gets the handler's answer all the same: everything it committed is bound
    to the key, and the claim expires after CLAIM_TTL.
    """
    for attempt in range(3):
        try:
            with db.patience(SETTLE_PATIENCE):
                if response is None:
                    await queries.release(row_id, token)
                else:
                    await queries.finish(row_id, *response)
            return
        except ServiceUnavailable:
            await asyncio.sleep(0.2 * (attempt + 1))
    log.warning("idempotency key %s not settled; its claim expires after %s", row_id, queries.CLAIM_TTL)
