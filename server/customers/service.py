"""Customers: create, retrieve, update, list, close (only with a zero balance)."""

from __future__ import annotations

import re
from typing import Any

from server import clock, db
from server.context import RequestContext
from server.customers import queries
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.events.service import emit
from server.ids import new_id
from server.ledger import service as ledger
from server.ledger.money import exponent
from server.pagination import Page, decode_cursor
from server.permissions import read, write

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATUSES = ("active", "suspended", "closed")
MAX_METADATA_KEYS = 50


def customer_data(row: dict[str, Any]) -> dict[str, Any]:
    """The customer as events and REST show it."""
    return {"id": row["id"], "object": "customer", "email": row["email"], "name": row["name"],
            "metadata": row["metadata"] or {}, "status": row["status"], "livemode": row["livemode"],
            "created": int(row["created"].timestamp()), "updated": int(row["updated"].timestamp())}


def _email(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not EMAIL.match(value.strip()) or len(value) > 320:
        raise InvalidRequest("email must be a valid email address", param="email")
    return value.strip()


def _name(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidRequest("name must be a string of at most 200 characters", param="name")
    return value.strip()


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_METADATA_KEYS:
        raise InvalidRequest(f"metadata must be an object of at most {MAX_METADATA_KEYS} string keys",
                             param="metadata")
    clean: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 40:
            raise InvalidRequest("metadata keys are strings of 1 to 40 characters", param="metadata")
        if not isinstance(item, str | int | float) or isinstance(item, bool) or len(str(item)) > 500:
            raise InvalidRequest(f"metadata[{key}] must be a string of at most 500 characters",
                                 param=f"metadata[{key}]")
        clean[key] = str(item)
    return clean


async def create(ctx: RequestContext, email: Any = None, name: Any = None, metadata: Any = None) -> dict[str, Any]:
    scope = ctx.require(write("customers"))
    now = clock.now()
    row = {"id": new_id("cus"), "account_id": scope.account_id, "livemode": scope.livemode, "email": _email(email),
           "name": _name(name), "metadata": _metadata(metadata), "status": "active", "created": now, "updated": now}
    async with db.transaction():
        await queries.insert_customer(row)
        await emit(ctx, scope, "customer.created", "customer", row["id"], customer_data(row))
    return row


async def get(ctx: RequestContext, customer_id: str) -> dict[str, Any]:
    scope = ctx.require(read("customers"))
    row = await queries.get_customer(scope, customer_id)
    if row is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    return row


async def update(ctx: RequestContext, customer_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change email, name, metadata (merged; a null value removes a key) or status (active / suspended)."""
    scope = ctx.require(write("customers"))
    values: dict[str, Any] = {}
    if "email" in changes:
        values["email"] = _email(changes["email"])
    if "name" in changes:
        values["name"] = _name(changes["name"])
    if "status" in changes:
        if changes["status"] not in ("active", "suspended"):
            raise InvalidRequest("status must be active or suspended (close a customer with DELETE)",
                                 param="status")
        values["status"] = changes["status"]
    async with db.transaction():
        row = await queries.get_customer(scope, customer_id, "FOR UPDATE")
        if row is None:
            raise NotFound(f"no customer '{customer_id}'", param="id")
        if row["status"] == "closed":
            raise Conflict("this customer is closed and cannot be changed", param="id", code=ErrorCode.CUSTOMER_CLOSED)
        if "metadata" in changes:
            if changes["metadata"] is not None and not isinstance(changes["metadata"], dict):
                raise InvalidRequest("metadata must be an object", param="metadata")
            merged = {**(row["metadata"] or {}), **(changes["metadata"] or {})}
            values["metadata"] = _metadata({k: v for k, v in merged.items() if v is not None})
        if not values:
            return row
        values["updated"] = clock.now()
        updated = await queries.update_customer(scope, customer_id, values)
        assert updated is not None
        previous = {k: customer_data(row)[k] for k in values if k != "updated"}
        await emit(ctx, scope, "customer.updated", "customer", customer_id,
                   {**customer_data(updated), "previous_attributes": previous})
    return updated


def _format(amount: int, currency: str) -> str:
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp) if exp else (abs(amount), 0)
    return f"{sign}{whole}{'.' + str(frac).zfill(exp) if exp else ''} {currency}"


async def close(ctx: RequestContext, customer_id: str) -> dict[str, Any]:
    """Close a customer whose balances are all zero; 409 names the balance otherwise."""
    scope = ctx.require(write("customers"))
    async with db.transaction():
        row = await queries.get_customer(scope, customer_id, "FOR UPDATE")
        if row is None:
            raise NotFound(f"no customer '{customer_id}'", param="id")
        if row["status"] == "closed":
            raise Conflict("this customer is already closed", param="id", code=ErrorCode.CUSTOMER_CLOSED)
        left = [b for b in await ledger.balances(scope, customer_id, "customer_wallet") if b["available"] != 0]
        if left:
            shown = ", ".join(_format(b["available"], b["currency"]) for b in left)
            raise Conflict(f"the customer still has a balance of {shown}; transfer it out before closing",
                           param="balance", code=ErrorCode.BALANCE_NOT_ZERO,
                           extra={"balance": [{"amount": b["available"], "currency": b["currency"]} for b in left]})
        updated = await queries.update_customer(scope, customer_id,
                                                {"status": "closed", "updated": clock.now()})
        assert updated is not None
        await emit(ctx, scope, "customer.closed", "customer", customer_id, customer_data(updated))
    return updated


async def list_customers(ctx: RequestContext, limit: int, cursor: str | None, email: str | None = None,
                         search: str | None = None, status: str | None = None) -> Page[dict[str, Any]]:
    scope = ctx.require(read("customers"))
    if status is not None and status not in STATUSES:
        raise InvalidRequest("status must be active, suspended or closed", param="status")
    if search is not None and len(search) > 200:
        raise InvalidRequest("search must be at most 200 characters", param="search")
    rows = await queries.list_customers(scope, decode_cursor(cursor), limit, email, (search or "").strip() or None,
                                        status)
    return Page.from_rows(rows, limit)
