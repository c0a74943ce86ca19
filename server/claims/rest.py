"""REST: /v1/transfer_claims: inquiries, messages, escalation, decisions, appeals and withdrawals."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIType
from litestar.params import KwargDefinition

from server.claims import service
from server.claims.rows import TransferClaim
from server.claims.serial import claim_json, message_json
from server.context import RequestContext
from server.ledger.money import MAX_AMOUNT
from server.pagination import decode_cursor, parse_limit
from server.rest import api_context, list_body

Amount = Annotated[Any, KwargDefinition(schema_extra={"type": OpenAPIType.INTEGER, "format": "int64"}, ge=1,
                                        le=MAX_AMOUNT, description="Minor units of the sender's currency.")]


class ClaimOpen(msgspec.Struct, forbid_unknown_fields=True):
    transfer: str
    reason: str | None = None
    amount: Amount = None
    message: str | None = None


class ClaimMessageCreate(msgspec.Struct, forbid_unknown_fields=True):
    author: str
    body: str


class ClaimDecision(msgspec.Struct, forbid_unknown_fields=True):
    decision: str
    note: str | None = None


class ClaimAppeal(msgspec.Struct, forbid_unknown_fields=True):
    by: str
    message: str | None = None


async def claim_body(ctx: RequestContext, claim: TransferClaim) -> dict[str, Any]:
    """The claim with its messages."""
    (messages,) = await service.messages_of(ctx, [claim.id])
    return {**claim_json(claim), "messages": [message_json(m) for m in messages]}


class TransferClaimController(Controller):
    path = "/v1/transfer_claims"
    tags = ["transfer claims"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, summary="Open an inquiry about a transfer (the sender, within 180 days)")
    async def create(self, ctx: RequestContext, data: ClaimOpen) -> dict[str, Any]:
        claim = await service.open_inquiry(ctx, data.transfer, reason=data.reason, amount=data.amount,
                                           message=data.message)
        return await claim_body(ctx, claim)

    @get("/", summary="List claims on transfers, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    status: str | None = None, customer: str | None = None,
                    transfer: str | None = None) -> dict[str, Any]:
        page = await service.list_claims(ctx, parse_limit(limit), decode_cursor(cursor), status=status,
                                         customer=customer, transfer=transfer)
        return list_body(page, claim_json, "/v1/transfer_claims")

    @get("/{claim_id:str}", summary="Retrieve a claim with its messages")
    async def retrieve(self, ctx: RequestContext, claim_id: str) -> dict[str, Any]:
        return await claim_body(ctx, await service.get(ctx, claim_id))

    @post("/{claim_id:str}/messages", status_code=200, summary="Add a message (sender, receiver or merchant)")
    async def message(self, ctx: RequestContext, claim_id: str, data: ClaimMessageCreate) -> dict[str, Any]:
        return message_json(await service.add_message(ctx, claim_id, data.author, data.body))

    @post("/{claim_id:str}/escalate", status_code=200, summary="Turn the inquiry into a claim now (holds the amount)")
    async def escalate(self, ctx: RequestContext, claim_id: str) -> dict[str, Any]:
        return await claim_body(ctx, await service.escalate(ctx, claim_id))

    @post("/{claim_id:str}/decide", status_code=200, summary="Decide: refund or deny (needs manage_payments)")
    async def decide(self, ctx: RequestContext, claim_id: str, data: ClaimDecision) -> dict[str, Any]:
        return await claim_body(ctx, await service.decide(ctx, claim_id, data.decision, data.note))

    @post("/{claim_id:str}/appeal", status_code=200, summary="Appeal the decision (the losing party, once)")
    async def appeal(self, ctx: RequestContext, claim_id: str, data: ClaimAppeal) -> dict[str, Any]:
        return await claim_body(ctx, await service.appeal(ctx, claim_id, data.by, data.message))

    @post("/{claim_id:str}/withdraw", status_code=200, summary="Withdraw the inquiry or claim (the sender)")
    async def withdraw(self, ctx: RequestContext, claim_id: str) -> dict[str, Any]:
        return await claim_body(ctx, await service.withdraw(ctx, claim_id))
