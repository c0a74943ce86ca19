"""GraphQL types of transfer claims and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from server.claims import rows
from server.claims.rules import RECEIVER
from server.gql.common import ConflictError, InsufficientFundsError, NotFoundError, ValidationError
from server.gql.loaders import loaders_of
from server.ledger.types import Long


@strawberry.type(description="A message between the parties of a claim (or from the merchant).")
class ClaimMessage:
    id: str = strawberry.field(description="`tcm_…`")
    author: str = strawberry.field(description="sender, receiver or merchant.")
    body: str = strawberry.field(description="The text.")
    created: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def from_row(cls, row: rows.ClaimMessage) -> ClaimMessage:
        return cls(id=row.id, author=row.author, body=row.body, created=row.created)


@strawberry.type(description="Money held on a customer's balance while a claim or an appeal is open.")
class ClaimHold:
    party: str = strawberry.field(description="receiver, or sender during the appeal of a refund.")
    customer_id: str = strawberry.field(description="Whose balance holds it.")
    amount: Long = strawberry.field(description="Held, minor units (what the balance had, up to the claim).")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")


@strawberry.type(description="A sender's claim on a wallet transfer: inquiry, claim, decision, one appeal.")
class TransferClaim:
    id: str = strawberry.field(description="`tcl_…`")
    transfer_id: str = strawberry.field(description="The claimed transfer.")
    sender_id: str = strawberry.field(description="Who sent the money and claims it.")
    receiver_id: str = strawberry.field(description="Who received it.")
    amount: Long = strawberry.field(description="Claimed, in the sender's currency.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="The sender's currency.")
    to_amount: Long = strawberry.field(description="The same share in the receiver's currency.")  # type: ignore[valid-type]
    to_currency: str = strawberry.field(description="The receiver's currency.")
    reason: str = strawberry.field(description="not_received, not_as_described, unauthorized, duplicate, other.")
    status: str = strawberry.field(description="inquiry, claim, appeal, refunded, denied or withdrawn.")
    escalate_after: datetime = strawberry.field(description="When an unsettled inquiry becomes a claim.")
    escalated: datetime | None = strawberry.field(description="When it became a claim.")
    hold: ClaimHold | None = strawberry.field(description="Money held while it is a claim or an appeal.")
    decision: str | None = strawberry.field(description="refund or deny (the latest).")
    decision_note: str = strawberry.field(description="The decider's note.")
    decided_by: str | None = strawberry.field(description="Who decided.")
    decided: datetime | None = strawberry.field(description="When.")
    appealed_by: str | None = strawberry.field(description="sender or receiver, once appealed.")
    appealed: datetime | None = strawberry.field(description="When it was appealed.")
    livemode: bool = strawberry.field(description="The mode it lives in.")
    closed: datetime | None = strawberry.field(description="When it was decided or withdrawn.")
    created: datetime = strawberry.field(description="When the inquiry was opened.")

    @strawberry.field(description="Its messages, oldest first.")
    async def messages(self, info: Info) -> list[ClaimMessage]:
        return [ClaimMessage.from_row(m) for m in await loaders_of(info).messages_of_claim.load(self.id)]

    @classmethod
    def from_row(cls, row: rows.TransferClaim) -> TransferClaim:
        hold = None
        if row.held_party is not None:
            receiver = row.held_party == RECEIVER
            hold = ClaimHold(party=row.held_party, customer_id=row.receiver if receiver else row.sender,
                             amount=row.amount_held, currency=row.to_currency if receiver else row.currency)
        return cls(id=row.id, transfer_id=row.transfer_id, sender_id=row.sender, receiver_id=row.receiver,
                   amount=row.amount, currency=row.currency, to_amount=row.to_amount, to_currency=row.to_currency,
                   reason=row.reason, status=row.status, escalate_after=row.escalate_after,
                   escalated=row.escalated_at, hold=hold, decision=row.decision, decision_note=row.decision_note,
                   decided_by=row.decided_by, decided=row.decided_at, appealed_by=row.appealed_by,
                   appealed=row.appealed_at, livemode=row.livemode, closed=row.closed_at, created=row.created)


@strawberry.input(description="The sender's inquiry about a transfer.")
class OpenTransferClaimInput:
    transfer: str = strawberry.field(description="The transfer (`tr_…`), sent at most 180 days ago.")
    reason: str | None = strawberry.field(default=None, description="not_received, not_as_described, "
                                                                    "unauthorized, duplicate or other (default).")
    amount: Long | None = strawberry.field(default=None, description="Default: the whole transfer.")  # type: ignore[valid-type]
    message: str | None = strawberry.field(default=None, description="The sender's first message.")


@strawberry.type(description="The claim after the change.")
class TransferClaimPayload:
    transfer_claim: TransferClaim = strawberry.field(description="The claim.")


@strawberry.type(description="The message added.")
class ClaimMessagePayload:
    claim_message: ClaimMessage = strawberry.field(description="The message.")


TransferClaimResult = Annotated[TransferClaimPayload | ValidationError | NotFoundError | ConflictError
                                | InsufficientFundsError, strawberry.union("TransferClaimResult")]
ClaimMessageResult = Annotated[ClaimMessagePayload | ValidationError | NotFoundError | ConflictError,
                               strawberry.union("ClaimMessageResult")]
