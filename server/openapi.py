"""The OpenAPI document at /schema/openapi.json, made to tell the truth.

Litestar derives paths and bodies from the controllers; on top of that,
`document()` states what the handlers cannot declare themselves:

- the one error shape, on every status each operation can answer with;
- the bearer API key every /v1 operation needs (`securitySchemes.bearerAuth`);
- the real type, range and allowed values of every query parameter, including
  those that handlers read from `request.query_params` directly.

`tests/test_openapi.py` checks it against the controllers, and the
schemathesis run in `make test` checks every answer against it.
"""

from __future__ import annotations

import html
from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
    SecurityScheme,
)

from server.apilogs.filters import METHODS as LOG_METHODS
from server.apilogs.filters import SOURCES as LOG_SOURCES
from server.claims.rules import STATUSES as CLAIM_STATUSES
from server.customers.rows import STATUSES as CUSTOMER_STATUSES
from server.disputes.evidence import STATUSES as DISPUTE_STATUSES
from server.files.service import PURPOSES as FILE_PURPOSES
from server.files.sniff import ACCEPTED as FILE_TYPES
from server.pagination import DEFAULT_LIMIT, MAX_LIMIT
from server.payments.pages import STATUSES as PAYMENT_STATUSES

BEARER = "bearerAuth"
ERROR_REF = Reference(ref="#/components/schemas/Error")
REDOC_JS = "/static/vendor/redoc-2.5.4.standalone.js"

STATUS_TEXT = {
    400: "The request is invalid: `error.param` names the parameter or body field at fault.",
    401: "No valid API key: send `Authorization: Bearer <key>`.",
    402: "Not enough funds for the operation, or the card was declined; nothing was changed.",
    403: "The key (or the restricted key's rights) does not allow this operation.",
    404: "No such object in this account and mode (or no such route).",
    409: "The object's state does not allow this, or a request with the same `Idempotency-Key` is still running.",
    413: "The request body is larger than `PAYDECK_MAX_BODY_BYTES` (1 MiB by default).",
    415: "The body is not JSON (`POST /v1/files`: not multipart/form-data): send `Content-Type: application/json`.",
    422: "Understood but not processable (e.g. this `transaction_id` was already processed).",
    429: "Too many requests for this key: retry after `Retry-After` seconds.",
    502: "The card processor did not answer; retry the request (with the same `Idempotency-Key`).",
    503: "A backing service (PostgreSQL, Redis) is recovering: retry after `Retry-After` seconds.",
}
EVERY_CALL = (400, 401, 403, 404, 429, 503)
WITH_BODY = (409, 413, 415, 422)
MOVES_MONEY = (402,)
PROCESSOR = (502,)

TIME = Schema(type=OpenAPIType.STRING, description="A Unix timestamp in seconds or an ISO 8601 time "
                                                   "(UTC when no offset is given), between years 1 and 9999.")
UNIX_SECONDS = Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=253402300799,
                      description="A Unix timestamp in seconds.")
TEXT = Schema(type=OpenAPIType.STRING)
LIST_QUERY: dict[str, Schema] = {
    "limit": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT,
                    description=f"How many items per page (1–{MAX_LIMIT})."),
    "cursor": Schema(type=OpenAPIType.STRING, description="`next_cursor` of the previous page."),
}
PERIOD = Schema(type=OpenAPIType.STRING, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                description="A month, YYYY-MM (UTC), between 1900-01 and 9998-12; default: the latest released.")
AMOUNT_BOUND = Schema(type=OpenAPIType.INTEGER, minimum=0, description="An amount in minor units (e.g. cents).")

# Query parameters by operation: replaces Litestar's "any string", and declares those read from the raw query.
QUERY: dict[str, dict[str, Schema]] = {
    "GET /v1/customers": {**LIST_QUERY, "email": TEXT,
                          "status": Schema(type=OpenAPIType.STRING, enum=list(CUSTOMER_STATUSES))},
    "GET /v1/customers/{customer_id}/balance": {"at": TIME},
    "GET /v1/customers/{customer_id}/history": {**LIST_QUERY, "created[gte]": TIME, "created[lte]": TIME},
    "GET /v1/transfers": {**LIST_QUERY, "customer": Schema(type=OpenAPIType.STRING,
                                                           description="Transfers from or to this customer.")},
    "GET /v1/payment_intents": {**LIST_QUERY, "customer": TEXT,
                                "status": Schema(type=OpenAPIType.STRING, enum=list(PAYMENT_STATUSES)),
                                "created[gte]": TIME, "created[lte]": TIME,
                                "amount[gte]": AMOUNT_BOUND, "amount[lte]": AMOUNT_BOUND},
    "GET /v1/request_logs": {
        **LIST_QUERY,
        "query": Schema(type=OpenAPIType.STRING, description="Words, an id or a request id to search for."),
        "status": Schema(type=OpenAPIType.STRING, pattern=r"^[1-5](xx|XX|[0-9]{2})(,[1-5](xx|XX|[0-9]{2}))*$",
                         description="A status (404) or class (4xx); several separated by commas."),
        "method": Schema(type=OpenAPIType.STRING, enum=list(LOG_METHODS)),
        "path": Schema(type=OpenAPIType.STRING, description="A path prefix, e.g. /v1/customers."),
        "api_key": TEXT, "error_type": TEXT, "idempotency_key": TEXT, "object_id": TEXT,
        "source": Schema(type=OpenAPIType.STRING, enum=list(LOG_SOURCES)),
        "created[gte]": TIME, "created[lt]": TIME,
    },
    "GET /v1/events": {
        **LIST_QUERY,
        "type": Schema(type=OpenAPIType.STRING, max_length=80, pattern=r"^[A-Za-z0-9._*,]*$",
                       description="Event types, comma-separated; `payment_intent.*` matches a family."),
        "created[gte]": UNIX_SECONDS, "created[gt]": UNIX_SECONDS, "created[lte]": UNIX_SECONDS,
        "created[lt]": UNIX_SECONDS, "object_id": TEXT,
    },
    "GET /v1/webhook_endpoints": {**LIST_QUERY},
    "GET /v1/disputes": {**LIST_QUERY, "status": Schema(type=OpenAPIType.STRING, enum=list(DISPUTE_STATUSES)),
                         "payment_intent": Schema(type=OpenAPIType.STRING, description="Disputes of this payment.")},
    "GET /v1/files": {**LIST_QUERY, "purpose": Schema(type=OpenAPIType.STRING, enum=list(FILE_PURPOSES))},
    "GET /v1/transfer_claims": {
        **LIST_QUERY, "status": Schema(type=OpenAPIType.STRING, enum=list(CLAIM_STATUSES)),
        "customer": Schema(type=OpenAPIType.STRING, description="Claims where this customer is sender or receiver."),
        "transfer": Schema(type=OpenAPIType.STRING, description="The claim of this transfer.")},
    "GET /v1/benchmarks": {"period": PERIOD},
    "GET /v1/benchmarks/privacy_budget": {"period": PERIOD},
}
FILE_CONTENTS = "/v1/files/{file_id}/contents"  # answers with the file's own (sniffed) type


class LocalRedoc(RedocRenderPlugin):
    """Redoc from web/static/vendor, started by its `<redoc spec-url>` element rather than an inline script.

    Nothing comes from a CDN (no fonts; our favicon, not Litestar's default from a CDN) and no script is
    inline, so the page works under the Content-Security-Policy of `server.web.headers`.
    """

    def render(self, request: Any, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(f"{request.scope.get('root_path', '')}/schema/openapi.json")
        return (f"<!DOCTYPE html><html><head><title>{title}</title><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
                "<link rel=\"stylesheet\" href=\"/static/redoc-page.css\">"
                f"</head><body><redoc spec-url=\"{spec_url}\"></redoc>"
                f"<script src=\"{html.escape(self.js_url)}\"></script></body></html>").encode()


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Paydeck API", version="2026-11-01", path="/schema",
        description="REST API of Paydeck. Every /v1 call needs an API key as a bearer token. Errors always have "
                    "the shape `{\"error\": {\"type\", \"code\", \"message\", \"param\", \"request_id\"}}`.",
        components=Components(security_schemes={BEARER: SecurityScheme(
            type="http", scheme="bearer", bearer_format="API key",
            description="A secret (`sk_…`), restricted (`rk_…`) or publishable (`pk_…`) API key from the "
                        "dashboard's API keys page. Its mode (test or live) is the mode of the call.")}),
        render_plugins=[LocalRedoc(js_url=REDOC_JS, google_fonts=False, path="/", favicon="")],
    )


def error_schema() -> Schema:
    body = Schema(
        type=OpenAPIType.OBJECT, required=["type", "code", "message", "request_id"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, description="The family: invalid_request_error, "
                           "authentication_error, permission_error, rate_limit_error, idempotency_error, "
                           "card_error, api_error."),
            "code": Schema(type=OpenAPIType.STRING, description="A stable machine-readable code."),
            "message": Schema(type=OpenAPIType.STRING, description="What went wrong, for people."),
            "param": Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
                            description="The parameter or body field at fault, if one is."),
            "request_id": Schema(type=OpenAPIType.STRING, description="Also in the `Request-Id` header."),
        },
    )
    return Schema(type=OpenAPIType.OBJECT, required=["error"], properties={"error": body},
                  description="Every error of the API.")


def error_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] = {
        "Request-Id": OpenAPIHeader(schema=TEXT, description="Identifies the request in the request log.")}
    if status in (429, 503):
        headers["Retry-After"] = OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                                               description="Seconds to wait before retrying.")
    return OpenAPIResponse(description=STATUS_TEXT[status], headers=headers,
                           content={"application/json": OpenAPIMediaType(schema=ERROR_REF)})


def statuses_of(method: str, path: str) -> tuple[int, ...]:
    """Every error status an operation can answer with."""
    statuses = list(EVERY_CALL)
    if method in ("POST", "PUT", "PATCH"):
        statuses += WITH_BODY
    if method == "DELETE":
        statuses.append(409)
    if method == "POST" and (path in ("/v1/refunds", "/v1/transfers") or path.endswith(("/confirm", "/capture"))):
        statuses += MOVES_MONEY
    if method == "POST" and path.startswith("/v1/transfer_claims/") and path.endswith(
            ("/escalate", "/decide", "/appeal")):  # a hold or a payment over may meet a balance that keeps moving
        statuses += MOVES_MONEY
    if method == "POST" and (path == "/v1/refunds" or path.endswith(("/confirm", "/capture", "/cancel"))
                             or path.startswith("/v1/test_helpers/")):
        statuses += PROCESSOR
    return tuple(sorted(set(statuses)))


def _query_parameters(operation: Operation, wanted: dict[str, Schema]) -> None:
    params = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    for param in params:
        if param.param_in == "query" and param.name in wanted:
            param.schema, param.required = wanted[param.name], False
    known = {p.name for p in params if p.param_in == "query"}
    extra = [Parameter(name=name, param_in="query", schema=schema, required=False)
             for name, schema in wanted.items() if name not in known]
    operation.parameters = [*(operation.parameters or []), *extra]


def document(openapi: OpenAPI) -> OpenAPI:
    """Add what Litestar cannot know: errors, security and parameter ranges (see the module docstring)."""
    openapi.components.schemas["Error"] = error_schema()
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            if path.startswith("/v1/"):
                operation.security = [{BEARER: []}]
                responses = {code: r for code, r in (operation.responses or {}).items() if not code.startswith("4")}
                responses.update({str(s): error_response(s) for s in statuses_of(method.upper(), path)})
                operation.responses = responses
            if wanted := QUERY.get(f"{method.upper()} {path}"):
                _query_parameters(operation, wanted)
            if path == FILE_CONTENTS and method == "get" and operation.responses:
                binary = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
                operation.responses["200"] = OpenAPIResponse(
                    description="The file's bytes, as an attachment, with the type sniffed from its content.",
                    content={kind.mime: binary for kind in FILE_TYPES.values()})
    _document_health_and_graphql(openapi)
    return openapi


def _document_health_and_graphql(openapi: OpenAPI) -> None:
    paths = openapi.paths or {}
    if (readyz := paths.get("/readyz")) and readyz.get and readyz.get.responses is not None:
        ok = readyz.get.responses.get("200")
        if isinstance(ok, OpenAPIResponse):
            readyz.get.responses["503"] = OpenAPIResponse(description="Not ready (shutting down, or PostgreSQL or "
                                                                      "Redis unreachable); the body says which.",
                                                          content=ok.content)
    if (graphql := paths.get("/graphql")) and graphql.get and graphql.get.responses:
        ide = graphql.get.responses.get("200")
        if isinstance(ide, OpenAPIResponse) and ide.content is not None:
            ide.description = "The result; or GraphiQL (HTML) for a browser asking without a query."
            ide.content["text/html"] = OpenAPIMediaType(schema=TEXT)
    if graphql:
        for operation in (graphql.get, graphql.post):
            if operation is None:
                continue
            operation.security = [{BEARER: []}, {}]  # or the dashboard's session cookie
            operation.tags = ["graphql"]
            operation.summary = "GraphQL query or mutation" + (" (or GraphiQL in a browser)"
                                                                if operation is graphql.get else "")
            operation.description = ("GraphQL over HTTP; subscriptions use a WebSocket at the same path "
                                     "(graphql-transport-ws). Request errors use the API's error shape.")
            responses: dict[str, Any] = dict(operation.responses or {})
            responses.update({str(s): error_response(s) for s in (400, 401, 413, 415, 429, 503)})
            operation.responses = responses
