"""/stripe/v1/customers: create, retrieve, update, delete, list and search by email, in Stripe's shapes."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.customers import service
from server.customers.rows import CustomerChanges
from server.customers.serial import customer_json
from server.errors import ErrorCode, InvalidRequest
from server.pagination import encode_cursor, parse_limit
from server.rest import api_context
from server.stripe_compat import lists, params, shapes

WRITE: params.Spec = {"email": None, "name": None, "metadata": params.ANY, "expand": params.ANY}
SEARCH: params.Spec = {"query": None, "limit": None, "page": None, "expand": params.ANY}
EMAIL_QUERY = re.compile(r"""\s*email\s*:\s*(?:'([^']*)'|"([^"]*)")\s*""")


def customer(row: Any) -> dict[str, Any]:
    return shapes.customer(customer_json(row))


def _empty_as_none(value: str | None) -> str | None:
    return value or None  # Stripe unsets a field sent empty


class CustomerController(Controller):
    path = "/customers"
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200)
    async def create(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), WRITE)
        return customer(await service.create(ctx, _empty_as_none(params.string(data, "email")),
                                             params.string(data, "name"), params.metadata(data)))

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), {**lists.LIST_PARAMS, "email": None})
        email = params.string(data, "email")

        async def fetch(limit: int, after: str | None) -> Any:
            return await service.list_customers(ctx, limit, encode_cursor(after) if after else None, email=email)

        return await lists.page(data, fetch, customer, "/v1/customers")

    @get("/search")
    async def search(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        """Stripe's search language, for the one query Paydeck answers: `email:'jenny@example.com'`."""
        data = params.take(await params.read(request), SEARCH)
        query = params.string(data, "query", required=True) or ""
        match = EMAIL_QUERY.fullmatch(query)
        if match is None:
            raise InvalidRequest("Paydeck's customer search answers one query: email:'<address>'", param="query",
                                 code=ErrorCode.PARAMETER_INVALID)
        page = await service.list_customers(ctx, parse_limit(data.get("limit") or None),
                                            params.string(data, "page") or None, email=match[1] or match[2])
        return {"object": "search_result", "url": "/v1/customers/search", "has_more": page.has_more,
                "next_page": page.next_cursor, "data": [customer(row) for row in page.items]}

    @get("/{customer_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, customer_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return customer(await service.get(ctx, customer_id))

    @post("/{customer_id:str}", status_code=200)
    async def update(self, ctx: RequestContext, request: Request, customer_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), WRITE)
        changes = CustomerChanges()
        if "email" in data:
            changes.email = _empty_as_none(params.string(data, "email"))
        if "name" in data:
            changes.name = params.string(data, "name")
        if "metadata" in data:
            current = (await service.get(ctx, customer_id)).metadata if data["metadata"] == "" else {}
            changes.metadata = params.metadata_changes(data, current)
        return customer(await service.update(ctx, customer_id, changes))

    @delete("/{customer_id:str}", status_code=200)
    async def remove(self, ctx: RequestContext, request: Request, customer_id: str) -> dict[str, Any]:
        """Stripe deletes; Paydeck closes (only with a zero balance, else 400 naming the balance)."""
        params.take(await params.read(request), {})
        row = await service.close(ctx, customer_id)
        return shapes.deleted("customer", row.id)
