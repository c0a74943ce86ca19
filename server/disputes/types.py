"""GraphQL types of disputes and their evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server import clock
from server.disputes import evidence, rows
from server.disputes.serial import past_due, protection_reason
from server.files.types import File
from server.gql.common import ConflictError, NotFoundError, ValidationError
from server.gql.loaders import loaders_of
from server.ledger.types import Long


@strawberry.type(description="One piece of evidence: a text field, or a file field with its uploaded file.")
class EvidenceField:
    name: str = strawberry.field(description="Stripe's evidence field name, e.g. shipping_tracking_number.")
    kind: str = strawberry.field(description="text or file.")
    value: str | None = strawberry.field(description="The text, or the file's id (`file_…`); null when empty.")

    @strawberry.field(description="The uploaded file of a file field.")
    async def file(self, info: Info) -> File | None:
        if self.kind != "file" or not self.value:
            return None
        found = await loaders_of(info).file_info.load(self.value)
        return File.from_row(found) if found else None


@strawberry.type(description="Deadline and state of the evidence.")
class EvidenceDetails:
    due_by: datetime = strawberry.field(description="Evidence must be submitted before this.")
    has_evidence: bool = strawberry.field(description="Whether any evidence field is filled in.")
    past_due: bool = strawberry.field(description="The deadline passed while evidence was still awaited.")
    submission_count: int = strawberry.field(description="How many times evidence was submitted.")
    submitted_at: datetime | None = strawberry.field(description="When evidence was last submitted.")


@strawberry.type(description="One event in a dispute's timeline.")
class DisputeEvent:
    id: str = strawberry.field(description="`evt_…`")
    type: str = strawberry.field(description="e.g. charge.dispute.funds_withdrawn")
    created: datetime = strawberry.field(description="When it happened.")


@strawberry.type(description="A cardholder's dispute of a payment (Stripe's Dispute): an inquiry or a chargeback.")
class Dispute:
    id: str = strawberry.field(description="`dp_…`")
    payment_intent_id: str = strawberry.field(description="The disputed payment.")
    amount: Long = strawberry.field(description="Disputed amount, minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    fee: Long = strawberry.field(description="Dispute fee withdrawn with the amount.")  # type: ignore[valid-type]
    reason: str = strawberry.field(description="fraudulent, product_not_received, duplicate, unrecognized, …")
    status: str = strawberry.field(description="warning_needs_response, warning_under_review, warning_closed, "
                                               "needs_response, under_review, won or lost.")
    is_inquiry: bool = strawberry.field(description="An inquiry (warning_*): no money has moved.")
    evidence_details: EvidenceDetails = strawberry.field(description="Deadline and submissions.")
    funds_withdrawn: bool = strawberry.field(description="The amount and fee left the merchant balance.")
    funds_reinstated: bool = strawberry.field(description="The amount came back (won, or covered by protection).")
    seller_protection: str | None = strawberry.field(description="Once lost: covered or not_covered.")
    seller_protection_reason: str = strawberry.field(description="Why it is (or would be) covered or not.")
    metadata: JSON = strawberry.field(description="Your key-value pairs.")
    livemode: bool = strawberry.field(description="The mode it lives in.")
    closed: datetime | None = strawberry.field(description="When it was decided.")
    created: datetime = strawberry.field(description="When the processor reported it.")
    evidence_values: strawberry.Private[dict[str, str]]

    @strawberry.field(description="Every evidence field, filled in or not, in Stripe's order (texts, then files).")
    def evidence(self) -> list[EvidenceField]:
        return [EvidenceField(name=name, kind="file" if name in evidence.FILE_FIELDS else "text",
                              value=self.evidence_values.get(name)) for name in evidence.FIELDS]

    @strawberry.field(description="Its events, oldest first.")
    async def timeline(self, info: Info) -> list[DisputeEvent]:
        return [DisputeEvent(id=e.id, type=e.type, created=e.created)
                for e in await loaders_of(info).timeline_of_dispute.load(self.id)]

    @classmethod
    def from_row(cls, row: rows.Dispute) -> Dispute:
        reason = protection_reason(row)
        return cls(id=row.id, payment_intent_id=row.payment_intent_id, amount=row.amount, currency=row.currency,
                   fee=row.fee, reason=row.reason, status=row.status,
                   is_inquiry=row.status in evidence.INQUIRY_STATUSES,
                   evidence_details=EvidenceDetails(due_by=row.due_by, has_evidence=evidence.has_evidence(row.evidence),
                                                    past_due=past_due(row, clock.PAYMENTS.now()),
                                                    submission_count=row.submission_count,
                                                    submitted_at=row.submitted_at),
                   funds_withdrawn=row.funds_withdrawn_at is not None,
                   funds_reinstated=row.funds_reinstated_at is not None, seller_protection=row.seller_protection,
                   seller_protection_reason=reason, metadata=JSON(row.metadata), livemode=row.livemode,
                   closed=row.closed_at, created=row.created, evidence_values=dict(row.evidence))


@strawberry.input(description="Evidence fields to set (a text, or a file id); an empty string clears one.")
class EvidenceInput:
    name: str = strawberry.field(description="An evidence field, e.g. shipping_tracking_number.")
    value: str = strawberry.field(description="Its text, or for a file field the id of an uploaded file.")


@strawberry.input(description="Change a dispute's evidence (a draft), or submit it.")
class UpdateDisputeInput:
    evidence: list[EvidenceInput] | None = strawberry.field(default=None, description="Fields to set or clear.")
    submit: bool = strawberry.field(default=False, description="Send the evidence to the issuer (once).")
    metadata: JSON | None = strawberry.field(default=None, description="Key-value pairs; null removes a key.")


@strawberry.input(description="Make the cardholder dispute a test-mode payment (test mode only).")
class CreateTestDisputeInput:
    payment_intent: str = strawberry.field(description="A succeeded test-mode payment intent.")
    reason: str | None = strawberry.field(default=None, description="A dispute reason; default fraudulent.")
    amount: Long | None = strawberry.field(default=None, description="Default: what the payment has left.")  # type: ignore[valid-type]
    inquiry: bool = strawberry.field(default=False, description="Open an inquiry (warning) instead of a chargeback.")


@strawberry.type(description="The dispute after the change.")
class DisputePayload:
    dispute: Dispute = strawberry.field(description="The dispute.")


DisputeResult = Annotated[DisputePayload | ValidationError | NotFoundError | ConflictError,
                          strawberry.union("DisputeResult")]
