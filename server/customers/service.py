"""Customers: create, retrieve, update, list, close (only with a zero balance)."""

from __future__ import annotations

from msgspec import UNSET

from server import clock, db, validation
from server.context import RequestContext
from server.customers import queries
from server.customers.rows import STATUSES, Customer, CustomerChanges
from server.customers.serial import customer_json
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.events.service import emit
from server.ids import new_id
from server.ledger import service as ledger
from server.ledger.money import exponent
from server.pagination import Page, decode_cursor
from server.permissions import read, write

MAX_NAME = 200


def _name(value: object) -> str:
    return validation.text(value, "name", MAX_NAME, strip=True)


async def create(ctx: RequestContext, email: object = None, name: object = None,
                 metadata: object = None) -> Customer:
    """A new customer; every value is untrusted and checked here."""
    scope = ctx.require(write("customers"))
    now = clock.now()
    customer = Customer(id=new_id("cus"), account_id=scope.account_id, livemode=scope.livemode,
                        email=validation.optional_email(email), name=_name(name),
                        metadata=validation.metadata(metadata), status="active", created=now, updated=now)
    async with db.transaction():
        await queries.insert_customer(customer)
        await emit(ctx, scope, "customer.created", "customer", customer.id, customer_json(customer))
    return customer


async def get(ctx: RequestContext, customer_id: str) -> Customer:
    scope = ctx.require(read("customers"))
    row = await queries.get_customer(scope, customer_id)
    if row is None:
        raise NotFound(f"no customer '{customer_id}'", param="id")
    return row


async def update(ctx: RequestContext, customer_id: str, changes: CustomerChanges) -> Customer:
    """Change email, name, metadata (merged; a null value removes a key) or status (active / suspended)."""
    scope = ctx.require(write("customers"))
    values: dict[str, object] = {}
    if changes.email is not UNSET:
        values["email"] = validation.optional_email(changes.email)
    if changes.name is not UNSET:
        values["name"] = _name(changes.name)
    if changes.status is not UNSET:
        if changes.status not in ("active", "suspended"):
            raise InvalidRequest("status must be active or suspended (close a customer with DELETE)",
                                 param="status")
        values["status"] = changes.status
    async with db.transaction():
        row = await queries.get_customer(scope, customer_id, "FOR UPDATE")
        if row is None:
            raise NotFound(f"no customer '{customer_id}'", param="id")
        if row.status == "closed":
            raise Conflict("this customer is closed and cannot be changed", param="id",
                           code=ErrorCode.CUSTOMER_CLOSED)
        if changes.metadata is not UNSET:
            values["metadata"] = validation.merged_metadata(row.metadata, changes.metadata)
        if not values:
            return row
        values["updated"] = clock.now()
        updated = await queries.update_customer(scope, customer_id, values)
        assert updated is not None
        before = customer_json(row)
        previous = {k: before[k] for k in values if k != "updated"}
        await emit(ctx, scope, "customer.updated", "customer", customer_id,
                   {**customer_json(updated), "previous_attributes": previous})
    return updated


def _format(amount: int, currency: str) -> str:
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp) if exp else (abs(amount), 0)
    return f"{sign}{whole}{'.' + str(frac).zfill(exp) if exp else ''} {currency}"


async def close(ctx: RequestContext, customer_id: str) -> Customer:
    """Close a customer whose balances are all zero; 409 names the balance otherwise."""
    scope = ctx.require(write("customers"))
    async with db.transaction():
        row = await queries.get_customer(scope, customer_id, "FOR UPDATE")
        if row is None:
            raise NotFound(f"no customer '{customer_id}'", param="id")
        if row.status == "closed":
            raise Conflict("this customer is already closed", param="id", code=ErrorCode.CUSTOMER_CLOSED)
        left = [b for b in await ledger.balances(scope, customer_id, "customer_wallet") if b.available != 0]
        # Money held for an open claim on a transfer is the customer's too, until the claim is decided.
        left += [b for b in await ledger.balances(scope, customer_id, "claim_hold") if b.available != 0]
        if left:
            shown = ", ".join(_format(b.available, b.currency) for b in left)
            raise Conflict(f"the customer still has a balance of {shown}; transfer it out before closing",
                           param="balance", code=ErrorCode.BALANCE_NOT_ZERO,
                           extra={"balance": [{"amount": b.available, "currency": b.currency} for b in left]})
        updated = await queries.update_customer(scope, customer_id, {"status": "closed", "updated": clock.now()})
        assert updated is not None
        await emit(ctx, scope, "customer.closed", "customer", customer_id, customer_json(updated))
    return updated


async def list_customers(ctx: RequestContext, limit: int, cursor: str | None, email: str | None = None,
                         search: str | None = None, status: str | None = None) -> Page[Customer]:
    scope = ctx.require(read("customers"))
    if status is not None and status not in STATUSES:
        raise InvalidRequest("status must be active, suspended or closed", param="status")
    if search is not None and len(search) > 200:
        raise InvalidRequest("search must be at most 200 characters", param="search")
    rows = await queries.list_customers(scope, decode_cursor(cursor), limit, email, (search or "").strip() or None,
                                        status)
    return Page.from_rows(rows, limit)
