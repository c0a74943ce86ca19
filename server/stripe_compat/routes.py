"""The Stripe-compatible surface: every controller under /stripe/v1, with Stripe's error shape.

An SDK's `api_base` is `http://host:port/stripe`. Left out of the OpenAPI document: Stripe's own API
reference documents these shapes, and the bodies are form-encoded with bracket notation, which the
document (and the schemathesis run over it) does not describe (docs/stripe-compat.md).
"""

from __future__ import annotations

from litestar import Router

from server.stripe_compat import customers, disputes, errors, events, money, payment_intents
from server.stripe_compat.error_shape import PREFIX

ROUTER = Router(
    path=PREFIX,
    route_handlers=[customers.CustomerController, payment_intents.PaymentIntentController, money.RefundController,
                    money.BalanceController, money.BalanceTransactionController, events.EventController,
                    events.WebhookEndpointController, disputes.DisputeController],
    exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]  # each takes the class it is registered for
    include_in_schema=False,
)
