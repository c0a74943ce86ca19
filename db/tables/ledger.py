"""The double-entry ledger: ledger accounts, journal entries, postings, FX rates.

Balances live on `ledger_accounts.balance` but change only through postings:
a trigger applies each posting to its account, a check keeps non-negative
accounts non-negative, and a deferred trigger refuses any entry whose
postings do not sum to zero per currency (see the raw migration).
"""

from piccolo.columns import JSONB, BigInt, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class LedgerAccount(Table, tablename="ledger_accounts"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    owner_type = Varchar(length=20)  # customer | merchant
    owner_id = Varchar(length=40)
    purpose = Varchar(length=40)  # customer_wallet | merchant_balance | fees | processor_clearing | fx | ...
    currency = Varchar(length=3)
    allow_negative = Boolean(default=False)
    balance = BigInt(default=0)
    version = BigInt(default=0)
    created = Timestamptz()


class JournalEntry(Table, tablename="journal_entries"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    kind = Varchar(length=40)  # credit | transfer | payment | refund | fee | adjustment | ...
    reference = Varchar(length=255, null=True, default=None)
    description = Varchar(length=500, default="")
    metadata = JSONB(default={})
    created = Timestamptz()


class Posting(Table, tablename="postings"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    entry_id = Varchar(length=40)
    ledger_account_id = Varchar(length=40)
    currency = Varchar(length=3)
    amount = BigInt()
    balance_after = BigInt(default=0)
    account_seq = BigInt(default=0)
    created = Timestamptz()


class FxRate(Table, tablename="fx_rates"):
    id = Varchar(length=40, primary_key=True)
    account_id = Varchar(length=40)
    livemode = Boolean()
    base = Varchar(length=3)
    quote = Varchar(length=3)
    rate = Varchar(length=40)  # a decimal, kept as text so no float touches it
    spread_bps = Integer(default=0)
    updated = Timestamptz()
