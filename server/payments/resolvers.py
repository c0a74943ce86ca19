"""GraphQL queries and mutations of payments."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from server.fraud.inputs import buyer
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.ledger import service as ledger
from server.ledger.types import Long, Money
from server.pagination import decode_cursor
from server.payments import receipts, refunds, service
from server.payments import types as t
from server.payments.rows import PaymentIntent


def _payload(row: PaymentIntent, with_secret: bool = False) -> t.PaymentIntentPayload:
    return t.PaymentIntentPayload(payment_intent=t.PaymentIntent.from_row(row),
                                  client_secret=row.client_secret if with_secret else None)


@strawberry.type
class PaymentQuery:
    @strawberry.field(description="Payment intents of this mode, newest first, with filters.")
    async def payment_intents(self, info: Info, first: int | None = None, after: str | None = None,
                              status: str | None = None, customer: str | None = None,
                              created_gte: datetime | None = None, created_lte: datetime | None = None,
                              amount_gte: Long | None = None,  # type: ignore[valid-type]
                              amount_lte: Long | None = None,  # type: ignore[valid-type]
                              ) -> Connection[t.PaymentIntent]:
        page = await service.list_intents(ctx_of(info), first_arg(first), decode_cursor(after, "after"),
                                          status=status, customer=customer, created_gte=created_gte,
                                          created_lte=created_lte, amount_gte=amount_gte, amount_lte=amount_lte)
        return connection(page, t.PaymentIntent.from_row)

    @strawberry.field(description="One payment intent of this mode.")
    async def payment_intent(self, info: Info, id: strawberry.ID) -> t.PaymentIntent | None:
        return await one_or_none(t.PaymentIntent.from_row, service.get(ctx_of(info), str(id)))

    @strawberry.field(description="One refund of this mode.")
    async def refund(self, info: Info, id: strawberry.ID) -> t.Refund | None:
        return await one_or_none(t.Refund.from_row, refunds.get(ctx_of(info), str(id)))

    @strawberry.field(description="One receipt of this mode.")
    async def receipt(self, info: Info, id: strawberry.ID) -> t.Receipt | None:
        return await one_or_none(t.Receipt.from_row, receipts.find(ctx_of(info), str(id)))

    @strawberry.field(description="The merchant's available balance per currency (needs view_payments).")
    async def balance(self, info: Info) -> list[Money]:
        return [Money(amount=b.amount, currency=b.currency) for b in await ledger.available_balance(ctx_of(info))]


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(description="Create a payment intent; its client secret is in the result.")
    async def create_payment_intent(self, info: Info, input: t.CreatePaymentIntentInput) -> t.PaymentIntentResult:
        row = await service.create(ctx_of(info), input.amount, input.currency, customer=input.customer,
                                   description=input.description, metadata=input.metadata,
                                   capture_method=input.capture_method)
        return _payload(row, with_secret=True)

    @strawberry.mutation(description="Confirm with a card (secret key or session; publishable key + clientSecret); "
                                     "the buyer's ipAddress, email and userAgent go to Radar.")
    async def confirm_payment_intent(self, info: Info, id: strawberry.ID, card: t.CardInput,
                                     client_secret: str | None = None, ip_address: str | None = None,
                                     email: str | None = None,
                                     user_agent: str | None = None) -> t.PaymentIntentResult:
        details = {"number": card.number, "exp_month": card.exp_month, "exp_year": card.exp_year, "cvc": card.cvc}
        row = await service.confirm(ctx_of(info), str(id), details, client_secret,
                                    buyer(ip_address, email, user_agent))
        return _payload(row)

    @strawberry.mutation(description="Capture an authorized payment, fully or partly, before it expires.")
    async def capture_payment_intent(self, info: Info, id: strawberry.ID,
                                     amount_to_capture: Long | None = None,  # type: ignore[valid-type]
                                     ) -> t.PaymentIntentResult:
        row = await service.capture(ctx_of(info), str(id), amount_to_capture)
        return _payload(row)

    @strawberry.mutation(description="Cancel a payment intent that is not yet paid (or release an authorization). "
                                     "reason: abandoned, duplicate, fraudulent or requested_by_customer.")
    async def cancel_payment_intent(self, info: Info, id: strawberry.ID,
                                    reason: str | None = None) -> t.PaymentIntentResult:
        row = await service.cancel(ctx_of(info), str(id), reason)
        return _payload(row)

    @strawberry.mutation(description="Refund a payment, fully or partly; never more than remains.")
    async def create_refund(self, info: Info, input: t.CreateRefundInput) -> t.RefundResult:
        row = await refunds.create(ctx_of(info), input.payment_intent, input.amount, input.reason)
        return t.RefundPayload(refund=t.Refund.from_row(row))


