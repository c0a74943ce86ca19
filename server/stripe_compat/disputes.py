"""/stripe/v1/disputes: list, retrieve, update evidence (and submit it), close, in Stripe's shapes.

A translation onto `server.disputes.service`, as `/v1/disputes` is: the service decides what may change and
when. Stripe's `submit` defaults to true; here it does too whenever `evidence` is sent, while a request that
sends only `metadata` stages nothing and submits nothing (Paydeck's service refuses to submit a dispute with no
evidence, which a metadata change on a fresh dispute would otherwise hit).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide

from server.context import RequestContext
from server.disputes import evidence, service
from server.disputes.rows import Dispute
from server.disputes.serial import dispute_json
from server.pagination import Page
from server.rest import api_context
from server.stripe_compat import lists, params, shapes

UPDATE: params.Spec = {"evidence": {name: None for name in evidence.FIELDS}, "metadata": params.ANY,
                       "submit": None, "expand": params.ANY}


def _one(row: Dispute) -> dict[str, Any]:
    return shapes.dispute(dispute_json(row))


class DisputeController(Controller):
    path = "/disputes"
    dependencies = {"ctx": Provide(api_context)}

    @get("/")
    async def list_(self, ctx: RequestContext, request: Request) -> dict[str, Any]:
        data = params.take(await params.read(request), {**lists.LIST_PARAMS, "charge": None, "payment_intent": None})
        pi_id = params.string(data, "payment_intent") or None
        charge = params.string(data, "charge") or None
        nothing = False
        if charge is not None:
            of_charge = await service.intent_of_charge(ctx, charge)
            nothing = of_charge is None or (pi_id is not None and pi_id != of_charge)
            pi_id = of_charge

        async def fetch(limit: int, after: str | None) -> Page[Dispute]:
            if nothing:  # no dispute of this account and mode is on that charge
                return Page.from_rows([], limit)
            return await service.list_disputes(ctx, limit, after, payment_intent=pi_id)

        page = await lists.page(data, fetch, lambda row: row, "/v1/disputes")
        page["data"] = [_one(row) for row in page["data"]]
        return page

    @get("/{dispute_id:str}")
    async def retrieve(self, ctx: RequestContext, request: Request, dispute_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return _one(await service.get(ctx, dispute_id))

    @post("/{dispute_id:str}", status_code=200)
    async def update(self, ctx: RequestContext, request: Request, dispute_id: str) -> dict[str, Any]:
        data = params.take(await params.read(request), UPDATE)
        submit = params.boolean(data, "submit")
        if submit is None:
            submit = "evidence" in data  # Stripe's default (true), when there is evidence to submit
        metadata = None
        if "metadata" in data:
            current = (await service.get(ctx, dispute_id)).metadata if data["metadata"] == "" else {}
            metadata = params.metadata_changes(data, current)
        row = await service.update(ctx, dispute_id, data.get("evidence"), submit=submit, metadata=metadata)
        return _one(row)

    @post("/{dispute_id:str}/close", status_code=200)
    async def close(self, ctx: RequestContext, request: Request, dispute_id: str) -> dict[str, Any]:
        params.take(await params.read(request), {"expand": params.ANY})
        return _one(await service.close(ctx, dispute_id))
