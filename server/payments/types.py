"""GraphQL types of payment intents, refunds and receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server.disputes.types import Dispute
from server.gql.common import ConflictError, NotFoundError, UnprocessableError, ValidationError
from server.gql.loaders import loaders_of
from server.ledger.types import Long, Money
from server.payments import rows
from server.payments.receipts import url_of


@strawberry.type(description="What the processor reported about the card. The number itself is never stored.")
class Card:
    brand: str = strawberry.field(description="visa, mastercard, amex, …")
    last4: str = strawberry.field(description="Last four digits.")
    exp_month: int = strawberry.field(description="Expiry month.")
    exp_year: int = strawberry.field(description="Expiry year.")
    country: str | None = strawberry.field(description="Issuing country.")
    fingerprint: str = strawberry.field(description="Same card, same fingerprint (per processor).")


@strawberry.type(description="A receipt: a number and a public, unguessable URL.")
class Receipt:
    id: str = strawberry.field(description="`rcpt_…`")
    number: str = strawberry.field(description="Receipt number shown to the buyer.")
    url: str = strawberry.field(description="Public page of the receipt.")
    refund_id: str | None = strawberry.field(description="For a refund's receipt, the refund.")

    @classmethod
    def from_row(cls, row: rows.Receipt) -> Receipt:
        return cls(id=row.id, number=row.number, url=url_of(row.token), refund_id=row.refund_id)


@strawberry.type(description="A refund of a payment, partial or full.")
class Refund:
    id: str = strawberry.field(description="`re_…`")
    payment_intent_id: str = strawberry.field(description="The refunded payment intent.")
    amount: Long = strawberry.field(description="Minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    reason: str | None = strawberry.field(description="duplicate, fraudulent or requested_by_customer.")
    status: str = strawberry.field(description="pending, succeeded or failed.")
    created: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def from_row(cls, row: rows.Refund) -> Refund:
        return cls(id=row.id, payment_intent_id=row.payment_intent_id, amount=row.amount, currency=row.currency,
                   reason=row.reason, status=row.status, created=row.created)


@strawberry.type(description="One event in a payment's timeline.")
class TimelineEvent:
    id: str = strawberry.field(description="`evt_…`")
    type: str = strawberry.field(description="e.g. payment_intent.succeeded")
    object_id: str = strawberry.field(description="The payment intent, one of its refunds, or its dispute.")
    created: datetime = strawberry.field(description="When it happened.")


@strawberry.type(description="A payment: create, confirm with a card, capture, cancel, refund.")
class PaymentIntent:
    id: str = strawberry.field(description="`pi_…`")
    status: str = strawberry.field(description="requires_payment_method, processing, requires_capture, succeeded, "
                                               "failed or canceled.")
    amount: Long = strawberry.field(description="Requested amount, minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    capture_method: str = strawberry.field(description="automatic or manual.")
    amount_capturable: Long = strawberry.field(description="Authorized, not yet captured.")  # type: ignore[valid-type]
    amount_received: Long = strawberry.field(description="Captured.")  # type: ignore[valid-type]
    amount_refunded: Long = strawberry.field(description="Refunded so far.")  # type: ignore[valid-type]
    fee: Long = strawberry.field(description="Our fee on the captured amount.")  # type: ignore[valid-type]
    customer_id: str | None = strawberry.field(description="The customer, if given.")
    description: str = strawberry.field(description="Free text.")
    metadata: JSON = strawberry.field(description="Your key-value pairs.")
    card: Card | None = strawberry.field(description="The card used, once confirmed.")
    failure_code: str | None = strawberry.field(description="Decline code of a failed payment.")
    failure_message: str | None = strawberry.field(description="Why it failed, for people.")
    disputed: bool = strawberry.field(description="Whether the cardholder disputed it.")
    cancellation_reason: str | None = strawberry.field(description="Why it was canceled (e.g. expired).")
    capture_before: datetime | None = strawberry.field(description="Deadline of a manual capture.")
    livemode: bool = strawberry.field(description="The mode it lives in.")
    created: datetime = strawberry.field(description="When it was created.")
    updated: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="Its refunds, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        return [Refund.from_row(r) for r in await loaders_of(info).refunds_of_intent.load(self.id)]

    @strawberry.field(description="The receipt of the payment, once it succeeded.")
    async def receipt(self, info: Info) -> Receipt | None:
        row = await loaders_of(info).receipt_of_intent.load(self.id)
        return Receipt.from_row(row) if row else None

    @strawberry.field(description="Its dispute, once the cardholder disputed it (a charge is disputed once).")
    async def dispute(self, info: Info) -> Dispute | None:
        row = await loaders_of(info).dispute_of_intent.load(self.id)
        return Dispute.from_row(row) if row else None

    @strawberry.field(description="Its events, its refunds' and its dispute's, oldest first: the timeline.")
    async def timeline(self, info: Info) -> list[TimelineEvent]:
        return [TimelineEvent(id=r.id, type=r.type, object_id=r.object_id, created=r.created)
                for r in await loaders_of(info).timeline_of_intent.load(self.id)]

    @classmethod
    def from_row(cls, row: rows.PaymentIntent) -> PaymentIntent:
        found = row.card
        card = None if found is None else Card(
            brand=found.brand, last4=found.last4, exp_month=found.exp_month, exp_year=found.exp_year,
            country=found.country, fingerprint=found.fingerprint)
        return cls(id=row.id, status=row.status, amount=row.amount, currency=row.currency,
                   capture_method=row.capture_method, amount_capturable=row.amount_capturable,
                   amount_received=row.amount_received, amount_refunded=row.amount_refunded, fee=row.fee,
                   customer_id=row.customer_id, description=row.description, metadata=JSON(row.metadata), card=card,
                   failure_code=row.failure_code, failure_message=row.failure_message, disputed=row.disputed,
                   cancellation_reason=row.cancellation_reason, capture_before=row.capture_before,
                   livemode=row.livemode, created=row.created, updated=row.updated)


@strawberry.input(description="A new payment intent.")
class CreatePaymentIntentInput:
    amount: Long = strawberry.field(description="Minor units.")  # type: ignore[valid-type]
    currency: str = strawberry.field(description="ISO 4217 code.")
    customer: str | None = strawberry.field(default=None, description="A customer id.")
    description: str | None = strawberry.field(default=None, description="Free text.")
    metadata: JSON | None = strawberry.field(default=None, description="Key-value pairs.")
    capture_method: str | None = strawberry.field(default=None, description="automatic (default) or manual.")


@strawberry.input(description="Card details, sent to the processor and never stored.")
class CardInput:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


@strawberry.input(description="A refund.")
class CreateRefundInput:
    payment_intent: str = strawberry.field(description="The payment intent to refund.")
    amount: Long | None = strawberry.field(default=None, description="Default: what remains.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(default=None, description="duplicate, fraudulent, requested_by_customer.")


@strawberry.type(description="The payment intent after the change.")
class PaymentIntentPayload:
    payment_intent: PaymentIntent = strawberry.field(description="The payment intent.")
    client_secret: str | None = strawberry.field(description="For a new intent: pass to the browser to confirm.")


@strawberry.type(description="The refund made.")
class RefundPayload:
    refund: Refund = strawberry.field(description="The refund.")


PaymentIntentResult = Annotated[PaymentIntentPayload | ValidationError | NotFoundError | ConflictError
                                | UnprocessableError, strawberry.union("PaymentIntentResult")]
# A refund is never refused for the merchant balance (it may go below zero), so no InsufficientFundsError.
RefundResult = Annotated[RefundPayload | ValidationError | NotFoundError | ConflictError,
                         strawberry.union("RefundResult")]


@strawberry.type(description="Payments created in a window of one day: volume, counts, success rate.")
class PaymentDay:
    start: datetime = strawberry.field(description="Window start (midnight in the account's time zone).")
    end: datetime = strawberry.field(description="Window end.")
    gross_volume: list[Money] = strawberry.field(description="Amount received per currency, minor units.")
    succeeded_count: int = strawberry.field(description="Payments that received money.")
    failed_count: int = strawberry.field(description="Payments that failed.")
    success_rate: float | None = strawberry.field(description="succeeded / (succeeded + failed); null without any.")

    @classmethod
    def from_summary(cls, day: Any) -> PaymentDay:
        return cls(start=day.start, end=day.end,
                   gross_volume=[Money(amount=v, currency=c) for c, v in sorted(day.gross.items())],
                   succeeded_count=day.succeeded, failed_count=day.failed, success_rate=day.success_rate)


@strawberry.type(description="Today so far against yesterday up to the same time of day.")
class PaymentSummary:
    today: PaymentDay = strawberry.field(description="Since midnight, account time zone.")
    yesterday: PaymentDay = strawberry.field(description="Yesterday, up to the same time of day.")
