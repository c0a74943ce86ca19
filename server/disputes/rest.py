"""REST: /v1/disputes (Stripe's names: update with `submit`, `/close` accepts) and the dispute test helper."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIType
from litestar.params import KwargDefinition

from server.context import RequestContext
from server.disputes import evidence, service
from server.disputes.serial import dispute_json
from server.ledger.money import MAX_AMOUNT
from server.pagination import decode_cursor, parse_limit
from server.rest import api_context, list_body

Amount = Annotated[Any, KwargDefinition(schema_extra={"type": OpenAPIType.INTEGER, "format": "int64"}, ge=1,
                                        le=MAX_AMOUNT, description="Minor units of the currency (e.g. cents).")]
# Evidence arrives as an object of Stripe's fields; server.disputes.evidence checks names, types and lengths.
Evidence = Annotated[Any, KwargDefinition(
    schema_extra={"type": OpenAPIType.OBJECT, "additionalProperties": False,
                  "properties": {name: {"type": "string", "maxLength": evidence.MAX_TEXT} for name in evidence.FIELDS}},
    description="Evidence fields: texts, and for file fields the id of a file uploaded with POST /v1/files.")]


class DisputeUpdate(msgspec.Struct, forbid_unknown_fields=True):
    evidence: Evidence = None
    submit: bool = False
    metadata: dict[str, Any] | None = None


class TestDispute(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None
    amount: Amount = None
    inquiry: bool = False


class DisputeController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]
    dependencies = {"ctx": Provide(api_context)}

    @get("/", summary="List disputes, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    status: str | None = None, payment_intent: str | None = None) -> dict[str, Any]:
        page = await service.list_disputes(ctx, parse_limit(limit), decode_cursor(cursor), status=status,
                                           payment_intent=payment_intent)
        return list_body(page, dispute_json, "/v1/disputes")

    @get("/{dispute_id:str}", summary="Retrieve a dispute")
    async def retrieve(self, ctx: RequestContext, dispute_id: str) -> dict[str, Any]:
        return dispute_json(await service.get(ctx, dispute_id))

    @post("/{dispute_id:str}", status_code=200,
          summary="Update a dispute's evidence (a draft), or submit it with submit: true (once, before due_by)")
    async def update(self, ctx: RequestContext, dispute_id: str, data: DisputeUpdate) -> dict[str, Any]:
        return dispute_json(await service.update(ctx, dispute_id, data.evidence, submit=data.submit,
                                                 metadata=data.metadata))

    @post("/{dispute_id:str}/close", status_code=200, summary="Accept a dispute: it closes as lost")
    async def close(self, ctx: RequestContext, dispute_id: str) -> dict[str, Any]:
        return dispute_json(await service.close(ctx, dispute_id))


class DisputeTestHelperController(Controller):
    path = "/v1/test_helpers/payment_intents"
    tags = ["test helpers"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/{pi_id:str}/dispute", status_code=200,
          summary="Test mode: the cardholder disputes the payment (the processor opens a dispute and reports it)")
    async def dispute(self, ctx: RequestContext, pi_id: str, data: TestDispute | None = None) -> dict[str, Any]:
        body = data or TestDispute()
        return dispute_json(await service.create_test_dispute(ctx, pi_id, body.reason, body.amount, body.inquiry))


CONTROLLERS = [DisputeController, DisputeTestHelperController]
