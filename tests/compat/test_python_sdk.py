"""The official Python SDK (`stripe` 16.1) drives /stripe/v1 unchanged: only `api_base` and the key differ."""

from __future__ import annotations

import stripe

from server.payments import service as payments
from tests.compat.conftest import sdk
from tests.factories import user_ctx


async def test_customers_crud_list_and_search(client: stripe.StripeClient):
    made = await sdk(client.customers.create, params={"email": "jenny@example.com", "name": "Jenny Rosen",
                                                       "metadata": {"order": "6735"}})
    assert (made.object, made.email, made.metadata["order"], made.livemode) == ("customer", "jenny@example.com",
                                                                                "6735", False)
    assert isinstance(made.created, int)
    got = await sdk(client.customers.retrieve, made.id)
    assert got.name == "Jenny Rosen"
    changed = await sdk(client.customers.update, made.id, params={"name": "Jenny R.", "metadata": {"order": "",
                                                                                                  "vip": "yes"}})
    assert changed.name == "Jenny R." and changed.metadata.to_dict() == {"vip": "yes"}
    other = await sdk(client.customers.create, params={"email": "other@example.com"})
    listed = await sdk(client.customers.list, params={"limit": 1})
    assert [c.id for c in listed.data] == [other.id] and listed.has_more and listed.url == "/v1/customers"
    by_email = await sdk(client.customers.list, params={"email": "jenny@example.com"})
    assert [c.id for c in by_email.data] == [made.id]
    found = await sdk(client.customers.search, params={"query": "email:'jenny@example.com'"})
    assert [c.id for c in found.data] == [made.id]
    gone = await sdk(client.customers.delete, made.id)
    assert gone.deleted is True and gone.id == made.id


async def test_card_payment_captured_manually_then_partly_refunded(client: stripe.StripeClient):
    customer = await sdk(client.customers.create, params={"email": "buyer@example.com"})
    pi = await sdk(client.payment_intents.create, params={"amount": 2000, "currency": "usd", "customer": customer.id,
                                                           "capture_method": "manual", "metadata": {"cart": "42"}})
    assert (pi.object, pi.status, pi.amount, pi.currency) == ("payment_intent", "requires_payment_method", 2000, "usd")
    pi = await sdk(client.payment_intents.confirm, pi.id, params={"payment_method": "pm_card_visa"})
    assert pi.status == "requires_capture" and pi.amount_capturable == 2000
    pi = await sdk(client.payment_intents.capture, pi.id, params={"amount_to_capture": 1500,
                                                                 "expand": ["latest_charge", "customer"]})
    assert pi.status == "succeeded" and pi.amount_received == 1500
    assert pi.latest_charge.object == "charge" and pi.latest_charge.payment_method_details.card.last4 == "4242"
    assert pi.customer.id == customer.id
    refund = await sdk(client.refunds.create, params={"payment_intent": pi.id, "amount": 500})
    assert (refund.object, refund.amount, refund.status, refund.payment_intent) == ("refund", 500, "succeeded", pi.id)
    assert (await sdk(client.refunds.retrieve, refund.id)).amount == 500
    assert [r.id for r in (await sdk(client.refunds.list, params={"payment_intent": pi.id})).data] == [refund.id]
    balance = await sdk(client.balance.retrieve)
    assert balance.object == "balance" and balance.available[0].currency == "usd"
    moves = await sdk(client.balance_transactions.list)
    assert [m.type for m in moves.data][:2] == ["refund", "charge"] and moves.data[0].amount == -500


async def test_update_and_cancel(client: stripe.StripeClient):
    pi = await sdk(client.payment_intents.create, params={"amount": 900, "currency": "eur"})
    pi = await sdk(client.payment_intents.update, pi.id, params={"description": "Order 7", "metadata": {"a": "1"}})
    assert pi.description == "Order 7" and pi.metadata["a"] == "1"
    pi = await sdk(client.payment_intents.cancel, pi.id, params={"cancellation_reason": "abandoned"})
    assert pi.status == "canceled" and pi.cancellation_reason == "abandoned"


async def test_decline_is_a_card_error_with_its_decline_code(client: stripe.StripeClient):
    pi = await sdk(client.payment_intents.create, params={"amount": 1000, "currency": "usd"})
    for token, decline in (("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),):
        try:
            await sdk(client.payment_intents.confirm, pi.id, params={"payment_method": token})
        except stripe.CardError as exc:
            assert exc.code == "card_declined" and exc.http_status == 402
            assert exc.error.decline_code == decline and exc.error.payment_intent.id == pi.id
        else:
            raise AssertionError("a declined card must raise stripe.CardError")


async def test_payment_method_data_card_and_create_with_confirm(client: stripe.StripeClient):
    card = {"number": "5555555555554444", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    pi = await sdk(client.payment_intents.create, params={
        "amount": 1234, "currency": "usd", "confirm": True, "payment_method_data": {"type": "card", "card": card}})
    assert pi.status == "succeeded" and pi.amount_received == 1234


async def test_auto_pagination_over_250_payment_intents(client: stripe.StripeClient, merchant):
    ctx = user_ctx(merchant.account["id"], merchant.user["id"])
    made = [(await payments.create(ctx, 100 + i, "usd")).id for i in range(250)]
    # Lists are newest first by id; ids made within one millisecond order by their random part, not by creation
    newest_first = sorted(made, reverse=True)
    seen = await sdk(lambda: [pi.id for pi in client.payment_intents.list(params={"limit": 100}).auto_paging_iter()])
    assert seen == newest_first
    before = await sdk(client.payment_intents.list, params={"ending_before": newest_first[2], "limit": 5})
    assert [pi.id for pi in before.data] == newest_first[:2] and not before.has_more


async def test_idempotent_retry_returns_the_first_answer(client: stripe.StripeClient, merchant):
    options = {"idempotency_key": "order-6735"}
    first = await sdk(client.payment_intents.create, params={"amount": 500, "currency": "usd"}, options=options)
    again = await sdk(client.payment_intents.create, params={"amount": 500, "currency": "usd"}, options=options)
    assert again.id == first.id
    listed = await sdk(client.payment_intents.list)
    assert [pi.id for pi in listed.data] == [first.id]
    try:
        await sdk(client.payment_intents.create, params={"amount": 501, "currency": "usd"}, options=options)
    except stripe.IdempotencyError:
        pass
    else:
        raise AssertionError("other parameters under the same key must raise stripe.IdempotencyError")


async def test_events_list_and_retrieve(client: stripe.StripeClient):
    customer = await sdk(client.customers.create, params={"email": "evt@example.com"})
    events = await sdk(client.events.list, params={"type": "customer.created"})
    assert events.data[0].type == "customer.created" and events.data[0].data.object.id == customer.id
    assert events.data[0].data.object.object == "customer"
    one = await sdk(client.events.retrieve, events.data[0].id)
    assert one.id == events.data[0].id and isinstance(one.created, int)


async def test_unknown_parameter_is_a_400_naming_it(client: stripe.StripeClient):
    try:
        await sdk(client.payment_intents.create, params={"amount": 500, "currency": "usd",
                                                         "payment_method_data": {"card": {"colour": "red"}}})
    except stripe.InvalidRequestError as exc:
        assert exc.http_status == 400 and exc.param == "payment_method_data[card][colour]"
        assert exc.code == "parameter_unknown"
    else:
        raise AssertionError("an unknown parameter must be refused")


async def test_global_api_base_and_stripe_version(server, merchant):
    """The five-line migration of docs/stripe-compat.md: module-level settings, any Stripe-Version."""
    stripe.api_key, stripe.api_base = merchant.keys["secret_test"], f"{server}/stripe"
    try:
        made = await sdk(stripe.Customer.create, email="global@example.com", stripe_version="2020-08-27")
        assert (await sdk(stripe.Customer.retrieve, made.id)).email == "global@example.com"
    finally:
        stripe.api_key, stripe.api_base = None, "https://api.stripe.com"


async def test_wrong_key_is_an_authentication_error(server):
    bad = stripe.StripeClient("sk_test_nope", base_addresses={"api": f"{server}/stripe"}, max_network_retries=0)
    try:
        await sdk(bad.customers.list)
    except stripe.AuthenticationError as exc:
        assert exc.http_status == 401
    else:
        raise AssertionError("an unknown key must raise stripe.AuthenticationError")
