"""Payment intents, refunds and receipts. Card numbers are never stored: only what the processor reports."""

from piccolo.columns import JSONB, BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class PaymentIntent(Table, tablename="payment_intents"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    status = Varchar(length=32)
    amount = BigInt()
    currency = Varchar(length=3)
    capture_method = Varchar(length=16, default="automatic")
    amount_capturable = BigInt(default=0)
    amount_received = BigInt(default=0)
    amount_refunded = BigInt(default=0)
    fee = BigInt(default=0)
    customer_id = Varchar(length=40, null=True, default=None)
    description = Varchar(length=1000, default="")
    metadata = JSONB(default={})
    client_secret = Varchar(length=100)
    card_brand = Varchar(length=20, null=True, default=None)
    card_last4 = Varchar(length=4, null=True, default=None)
    card_exp_month = Integer(null=True, default=None)
    card_exp_year = Integer(null=True, default=None)
    card_country = Varchar(length=2, null=True, default=None)
    card_fingerprint = Varchar(length=64, null=True, default=None)
    processor_key = Varchar(length=80, null=True, default=None)
    processor_charge_id = Varchar(length=80, null=True, default=None)
    failure_code = Varchar(length=40, null=True, default=None)
    failure_message = Varchar(length=300, null=True, default=None)
    disputed = Boolean(default=False)
    cancellation_reason = Varchar(length=40, null=True, default=None)
    processing_since = Timestamptz(null=True, default=None)  # since when the processor is being asked
    # A capture or release the processor is being asked for (phase 1 committed, phase 2 not yet).
    pending_action = Varchar(length=16, null=True, default=None)
    pending_amount = BigInt(null=True, default=None)
    pending_reason = Varchar(length=40, null=True, default=None)
    capture_before = Timestamptz(null=True, default=None)
    risk = JSONB(null=True, default=None)  # Radar's decision (server/fraud), when it ran
    created = Timestamptz()
    updated = Timestamptz()


class Refund(Table, tablename="refunds"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    payment_intent_id = Varchar(length=40)
    amount = BigInt()
    currency = Varchar(length=3)
    reason = Varchar(length=40, null=True, default=None)
    status = Varchar(length=20)
    processor_refund_id = Varchar(length=80, null=True, default=None)
    created = Timestamptz()


class Receipt(Table, tablename="receipts"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    payment_intent_id = Varchar(length=40)
    refund_id = Varchar(length=40, null=True, default=None)
    number = Varchar(length=20)
    token = Varchar(length=64, unique=True)
    created = Timestamptz()
