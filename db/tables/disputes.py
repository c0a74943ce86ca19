"""Disputes of card payments and the position in the processor's dispute feed."""

from piccolo.columns import JSONB, BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Dispute(Table, tablename="disputes"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    payment_intent_id = Varchar(length=40)
    processor_dispute_id = Varchar(length=80)
    # The processor's charge the dispute is on (the payment's, fixed once charged): Stripe's dispute names it.
    processor_charge_id = Varchar(length=80, null=True, default=None)
    processor_seq = BigInt(default=0)  # the last change of the processor's feed applied here
    amount = BigInt()
    currency = Varchar(length=3)
    fee = BigInt(default=0)  # the dispute fee withdrawn with the amount (0 while an inquiry)
    reason = Varchar(length=40)
    status = Varchar(length=32)
    evidence = JSONB(default={})
    submission_count = Integer(default=0)
    submitted_at = Timestamptz(null=True, default=None)
    due_by = Timestamptz()
    funds_withdrawn_at = Timestamptz(null=True, default=None)
    funds_reinstated_at = Timestamptz(null=True, default=None)
    seller_protection = Varchar(length=16, null=True, default=None)  # covered | not_covered, once lost
    seller_protection_reason = Varchar(length=300, default="")
    # What the processor must still be told (phase 1 committed, the call not yet answered): evidence | close.
    processor_pending = Varchar(length=16, null=True, default=None)
    reminded_72h_at = Timestamptz(null=True, default=None)
    reminded_24h_at = Timestamptz(null=True, default=None)
    metadata = JSONB(default={})
    closed_at = Timestamptz(null=True, default=None)
    created = Timestamptz()
    updated = Timestamptz()


class ProcessorFeed(Table, tablename="processor_feeds"):
    """How far the app has read a feed of the processor's (disputes): its epoch and the last sequence number."""

    name = Varchar(length=40, primary_key=True)
    epoch = Varchar(length=64, default="")
    position = BigInt(default=0)
    updated = Timestamptz()
