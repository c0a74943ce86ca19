"""Refuse what no handler can read, once, before any handler runs.

An app middleware, so it runs after routing (path parameters have their names)
and its refusals go through the exception handlers like any other error:

- query and path parameters: no NUL (`server.textcheck`);
- a body sent to the API (/v1, /graphql): JSON only (415 otherwise; no
  Content-Type is read as JSON), valid UTF-8, at most `MAX_JSON_DEPTH` levels
  deep; for /v1 also no NUL or unpaired surrogate in any key or string. The
  one exception is the upload route (`UPLOAD_ROUTES`, `POST /v1/files`): only
  multipart/form-data, within its own body limit.

Each refusal is a 400 naming the parameter or body field (`metadata.note`).
GraphQL reports bad text in its own way (`server.gql.textguard`), and
dashboard forms are checked where they are read (`server.web.pages.form_data`).
A refused request is still attributed to its account, so the request log shows it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from server import textcheck
from server.errors import ErrorCode, InvalidRequest, PaydeckError, UnsupportedMediaType
from server.files.sniff import UPLOAD_MAX_BODY

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def is_api(path: str) -> bool:
    return path.startswith("/v1/") or path == "/graphql"


def check_query(scope: Scope) -> None:
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        textcheck.check(name, "query")
        textcheck.check(value, name)


def check_path_params(scope: Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, str):
            textcheck.check(value, name)


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _locate(body: bytes) -> InvalidRequest | None:
    """What is wrong, by field, in a body msgspec refused, found by a lenient parse.

    Bytes that are not UTF-8 and escaped lone surrogates become lone
    surrogates, a number too large becomes infinity: the walk names the field
    holding either.
    """
    try:
        textcheck.check_tree(json.loads(body.decode("utf-8", "surrogateescape")))
    except InvalidRequest as exc:
        return exc
    except (ValueError, RecursionError):
        pass
    return None


def check_json_body(body: bytes, *, text: bool) -> None:
    try:
        data = msgspec.json.decode(body)
    except RecursionError:
        raise InvalidRequest(f"the request body is nested too deeply: at most {textcheck.MAX_JSON_DEPTH} levels of "
                             "objects and arrays are accepted", param="body",
                             code=ErrorCode.PARAMETER_INVALID) from None
    except UnicodeDecodeError:
        found = _locate(body)
        field = found.param if found else "body"
        raise InvalidRequest(f"{field} is not valid UTF-8: send JSON encoded as UTF-8", param=field,
                             code=ErrorCode.PARAMETER_INVALID) from None
    except msgspec.DecodeError as exc:
        if found := _locate(body):
            raise found from None
        reason = re.sub(r"\s*-\s*at `[^`]*`", "", str(exc)).rstrip(".")
        raise InvalidRequest(f"the request body is not valid JSON: {reason}", param="body",
                             code=ErrorCode.PARAMETER_INVALID) from None
    if text and _may_hide_bad_text(body):
        textcheck.check_tree(data, text=True)
    elif body.count(b"[") + body.count(b"{") > textcheck.MAX_JSON_DEPTH:
        textcheck.check_tree(data, text=False)


def _may_hide_bad_text(body: bytes) -> bool:
    """Whether decoded strings can hold a NUL or a lone surrogate: only through a \\u escape, since raw NUL
    bytes are not JSON and msgspec has refused bytes that are not UTF-8. Most bodies skip the walk."""
    return b"\\u0000" in body or SURROGATE_ESCAPE.search(body) is not None


# The one API route that takes a file (Stripe's `POST /v1/files`): multipart/form-data, and a body limit of
# its own (a 5 MB file with its fields); every other route reads JSON within `max_body_bytes`.
UPLOAD_ROUTES = {"/v1/files": UPLOAD_MAX_BODY}


def body_limit(scope: Scope, default: int) -> int:
    """How large a request body may be on this route."""
    if scope.get("method") == "POST":
        return UPLOAD_ROUTES.get(scope["path"], default)
    return default


def is_multipart(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def check_body(scope: Scope, body: bytes) -> None:
    if not body.strip():
        return  # the handler says whether it needs one
    content_type = Headers.from_scope(scope).get("content-type")
    if scope.get("method") == "POST" and scope["path"] in UPLOAD_ROUTES:
        if not is_multipart(content_type):
            raise UnsupportedMediaType(f"Content-Type '{content_type}' is not supported here: upload a file as "
                                       "'multipart/form-data' with the fields purpose and file", param="Content-Type")
        return  # the handler reads the parts: a file's bytes are whatever they are, its type is sniffed
    if not is_json(content_type):
        raise UnsupportedMediaType(f"Content-Type '{content_type}' is not supported: send a JSON body with "
                                   "'Content-Type: application/json'", param="Content-Type")
    check_json_body(body, text=scope["path"] != "/graphql")


async def _read_body(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """The messages received (to replay them) and the body; None when it is over `limit` (Litestar answers 413)."""
    messages: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


async def _attribute(scope: Scope) -> None:
    """Resolve who is asking (if anyone) so the request log keeps the refused request."""
    from server.auth import build_context

    try:
        await build_context(ASGIConnection(scope), check_csrf=False)
    except PaydeckError:
        pass


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: PaydeckError) -> None:
    """Answer here, through the usual error rendering: an exception raised by a middleware would skip the
    send wrappers of the middlewares around it (the request log would record a 500 without a body)."""
    from litestar import Request

    from server.rest_errors import paydeck_error

    request: Request = Request(scope, receive, send)
    await paydeck_error(request, exc).to_asgi_response(app=None, request=request)(scope, receive, send)


def request_guard(max_body_bytes: int):
    """A middleware factory; bodies over `max_body_bytes` are left to Litestar's 413."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            replay: list[ReceiveMessage] = []
            try:
                check_query(scope)
                check_path_params(scope)
                if scope["method"] in BODY_METHODS and is_api(scope["path"]):
                    replay, body = await _read_body(receive, body_limit(scope, max_body_bytes))
                    if body is not None:
                        check_body(scope, body)
            except PaydeckError as exc:
                await _attribute(scope)
                await _refuse(scope, receive, send, exc)
                return

            async def replay_receive() -> ReceiveMessage:
                return replay.pop(0) if replay else await receive()

            await app(scope, replay_receive, send)

        return middleware

    return factory
