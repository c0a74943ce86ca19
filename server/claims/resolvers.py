"""GraphQL queries and mutations of transfer claims (REST's /v1/transfer_claims, mirrored)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.claims import service
from server.claims import types as t
from server.claims.rows import TransferClaim as TransferClaimRow
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none


@strawberry.type
class ClaimQuery:
    @strawberry.field(description="Claims on transfers of the current mode, newest first; `customer` is either side.")
    async def transfer_claims(self, info: Info, first: int | None = None, after: str | None = None,
                              status: str | None = None, customer: str | None = None,
                              transfer: str | None = None) -> Connection[t.TransferClaim]:
        page = await service.list_claims(ctx_of(info), first_arg(first), after, status=status, customer=customer,
                                         transfer=transfer)
        return connection(page, t.TransferClaim.from_row)

    @strawberry.field(description="One claim of the current mode.")
    async def transfer_claim(self, info: Info, id: strawberry.ID) -> t.TransferClaim | None:
        return await one_or_none(t.TransferClaim.from_row, service.get(ctx_of(info), str(id)))


def _claim(row: TransferClaimRow) -> t.TransferClaimPayload:
    return t.TransferClaimPayload(transfer_claim=t.TransferClaim.from_row(row))


@strawberry.type
class ClaimMutation:
    @strawberry.mutation(description="The sender opens an inquiry about a transfer (within 180 days).")
    async def open_transfer_claim(self, info: Info, input: t.OpenTransferClaimInput) -> t.TransferClaimResult:
        return _claim(await service.open_inquiry(ctx_of(info), input.transfer, reason=input.reason,
                                                 amount=input.amount, message=input.message))

    @strawberry.mutation(description="A message from the sender, the receiver or the merchant.")
    async def add_transfer_claim_message(self, info: Info, id: strawberry.ID, author: str,
                                         body: str) -> t.ClaimMessageResult:
        made = await service.add_message(ctx_of(info), str(id), author, body)
        return t.ClaimMessagePayload(claim_message=t.ClaimMessage.from_row(made))

    @strawberry.mutation(description="The sender turns the inquiry into a claim now (the amount is held).")
    async def escalate_transfer_claim(self, info: Info, id: strawberry.ID) -> t.TransferClaimResult:
        return _claim(await service.escalate(ctx_of(info), str(id)))

    @strawberry.mutation(description="Decide a claim or appeal: refund or deny (needs manage_payments).")
    async def decide_transfer_claim(self, info: Info, id: strawberry.ID, decision: str,
                                    note: str | None = None) -> t.TransferClaimResult:
        return _claim(await service.decide(ctx_of(info), str(id), decision, note))

    @strawberry.mutation(description="The party that lost appeals the decision, once, within 10 days.")
    async def appeal_transfer_claim(self, info: Info, id: strawberry.ID, by: str,
                                    message: str | None = None) -> t.TransferClaimResult:
        return _claim(await service.appeal(ctx_of(info), str(id), by, message))

    @strawberry.mutation(description="The sender withdraws the inquiry or claim; a hold is released.")
    async def withdraw_transfer_claim(self, info: Info, id: strawberry.ID) -> t.TransferClaimResult:
        return _claim(await service.withdraw(ctx_of(info), str(id)))
