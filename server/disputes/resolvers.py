"""GraphQL queries and mutations of disputes (REST's /v1/disputes and the test helper, mirrored)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.disputes import service
from server.disputes import types as t
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.pagination import decode_cursor


@strawberry.type
class DisputeQuery:
    @strawberry.field(description="Disputes of the current mode, newest first.")
    async def disputes(self, info: Info, first: int | None = None, after: str | None = None,
                       status: str | None = None, payment_intent: str | None = None) -> Connection[t.Dispute]:
        page = await service.list_disputes(ctx_of(info), first_arg(first), decode_cursor(after, "after"), status=status,
                                           payment_intent=payment_intent)
        return connection(page, t.Dispute.from_row)

    @strawberry.field(description="One dispute of the current mode.")
    async def dispute(self, info: Info, id: strawberry.ID) -> t.Dispute | None:
        return await one_or_none(t.Dispute.from_row, service.get(ctx_of(info), str(id)))


@strawberry.type
class DisputeMutation:
    @strawberry.mutation(description="Save evidence as a draft, or submit it (`submit: true`, once, before due_by).")
    async def update_dispute(self, info: Info, id: strawberry.ID, input: t.UpdateDisputeInput) -> t.DisputeResult:
        changes = None if input.evidence is None else {e.name: e.value for e in input.evidence}
        row = await service.update(ctx_of(info), str(id), changes, submit=input.submit, metadata=input.metadata)
        return t.DisputePayload(dispute=t.Dispute.from_row(row))

    @strawberry.mutation(description="Accept the dispute: a chargeback closes as lost, an inquiry as warning_closed.")
    async def close_dispute(self, info: Info, id: strawberry.ID) -> t.DisputeResult:
        return t.DisputePayload(dispute=t.Dispute.from_row(await service.close(ctx_of(info), str(id))))

    @strawberry.mutation(description="Test mode: the cardholder disputes a payment (the processor opens it).")
    async def create_test_dispute(self, info: Info, input: t.CreateTestDisputeInput) -> t.DisputeResult:
        row = await service.create_test_dispute(ctx_of(info), input.payment_intent, input.reason, input.amount,
                                                input.inquiry)
        return t.DisputePayload(dispute=t.Dispute.from_row(row))
