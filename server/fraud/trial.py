"""Test mode: a payment made from the Radar page as a buyer would, to see what the rules decide.

It is an ordinary payment (created, then confirmed with the card, email and IP address given),
so it is evaluated, stored, blocked or reviewed like any other; only test mode allows it, as
live card numbers never pass through the dashboard.
"""

from __future__ import annotations

from server.context import RequestContext
from server.errors import InvalidRequest
from server.fraud.inputs import buyer
from server.payments import service as payments
from server.payments.rows import PaymentIntent

TEST_EXPIRY = {"exp_month": 12, "exp_year": 2034, "cvc": "123"}


async def create_test_payment(ctx: RequestContext, amount: object, currency: object, card_number: object, *,
                              email: object = None, ip_address: object = None,
                              customer: str | None = None) -> PaymentIntent:
    if ctx.scope.livemode:
        raise InvalidRequest("test payments are made in test mode only; switch to test mode", param="livemode")
    pi = await payments.create(ctx, amount, currency, customer=customer or None,
                               description="Test payment from the Radar page")
    card = {"number": card_number, **TEST_EXPIRY}
    return await payments.confirm(ctx, pi.id, card, buyer=buyer(ip_address, email, None))
