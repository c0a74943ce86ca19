"""The report types: what each one holds, which right its data needs, its CSV columns.

Amounts in every CSV are decimals in the currency's major unit, exact (`12.34`, JPY `1200`, KWD `1.005`);
times are ISO 8601, in UTC (`…Z`) and local to the run's time zone. Intervals are [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.permissions import Access, read


@dataclass(frozen=True)
class ReportType:
    name: str
    title: str
    description: str
    data: Access  # the read right of the data it holds, needed besides `reports` to run it or read its file
    columns: tuple[str, ...]


BALANCE_COLUMNS = ("balance", "currency", "category", "description", "amount")
BALANCE_CHANGE_COLUMNS = ("posting", "entry", "created_utc", "created_local", "currency", "category", "source_type",
                          "source", "gross", "fee", "net", "balance_after", "description")
PAYMENT_COLUMNS = ("payment_intent", "created_utc", "created_local", "status", "currency", "amount",
                   "amount_received", "fee", "net", "amount_refunded", "customer", "description", "capture_method",
                   "card_brand", "card_last4", "card_country", "failure_code")
USAGE_COLUMNS = ("month", "mode", "currency", "metric", "value")

REPORT_TYPES: dict[str, ReportType] = {t.name: t for t in [
    ReportType("balance.summary", "Balance summary",
               "Per balance (the merchant balance; customer wallets) and currency: the starting balance, activity "
               "by category (charges, refunds, fees, disputes, credits, transfers, other) and the ending balance. "
               "starting + activity = ending = the ledger's balance at the end of the interval.",
               read("balance"), BALANCE_COLUMNS),
    ReportType("balance_change_from_activity.itemized", "Balance changes, itemized",
               "One row per ledger posting that changed the merchant balance in the interval: its category, "
               "source, gross, fee, net and the balance after it.",
               read("balance"), BALANCE_CHANGE_COLUMNS),
    ReportType("payments.itemized", "Payments, itemized",
               "One row per payment intent created in the interval, with its status and amounts.",
               read("payment_intents"), PAYMENT_COLUMNS),
    ReportType("usage.monthly", "Usage by month",
               "Per local month: API requests and errors of each mode, successful payments and volume, fees "
               "charged, refunds, disputes and dispute fees, per currency.",
               read("analytics"), USAGE_COLUMNS),
]}
# A monthly statement is these runs over one closed month.
STATEMENT_TYPES = ("balance.summary", "usage.monthly")
