"""Claims on wallet transfers (buyer protection between customers) and the messages of each."""

from piccolo.columns import BigInt, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class TransferClaim(Table, tablename="transfer_claims"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    transfer_id = Varchar(length=40)
    sender = Varchar(length=40)  # the transfer's from_customer: who claims
    receiver = Varchar(length=40)  # the transfer's to_customer
    amount = BigInt()  # claimed, in the sender's currency
    currency = Varchar(length=3)
    to_amount = BigInt()  # the same share of what the receiver got, in the receiver's currency
    to_currency = Varchar(length=3)
    reason = Varchar(length=40)
    status = Varchar(length=20)  # inquiry | claim | appeal | refunded | denied | withdrawn
    escalate_after = Timestamptz()
    escalated_at = Timestamptz(null=True, default=None)
    held_party = Varchar(length=10, null=True, default=None)  # receiver | sender: whose balance holds it now
    amount_held = BigInt(default=0)  # in the held party's currency
    decision = Varchar(length=10, null=True, default=None)  # refund | deny (the latest)
    decision_note = Varchar(length=2000, default="")
    decided_by = Varchar(length=320, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    appealed_by = Varchar(length=10, null=True, default=None)  # sender | receiver
    appealed_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    created = Timestamptz()
    updated = Timestamptz()


class TransferClaimMessage(Table, tablename="transfer_claim_messages"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    claim_id = Varchar(length=40)
    author = Varchar(length=10)  # sender | receiver | merchant
    body = Varchar(length=5000)
    created = Timestamptz()
