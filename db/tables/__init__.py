"""Every table of the project; the Piccolo app finds them here."""

from db.tables.accounts import Account, AuditLog, Invitation, Membership, User
from db.tables.analytics import (
    AnalyticsApiRollup,
    AnalyticsApiRollupDaily,
    AnalyticsApiRollupHourly,
    AnalyticsFact,
    AnalyticsPosition,
    AnalyticsRollup,
    AnalyticsRollupDaily,
    AnalyticsRollupHourly,
)
from db.tables.benchmarks import BenchmarkPeriod, BenchmarkRelease, BenchmarkSellerValue, PrivacyBudgetEntry
from db.tables.claims import TransferClaim, TransferClaimMessage
from db.tables.customers import Credit, Customer, Transfer
from db.tables.disputes import Dispute, ProcessorFeed
from db.tables.events import Event, EventDispatch
from db.tables.files import File
from db.tables.idempotency import IdempotencyKey
from db.tables.keys import ApiKey
from db.tables.ledger import FxRate, JournalEntry, LedgerAccount, Posting
from db.tables.payments import PaymentIntent, Receipt, Refund
from db.tables.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookFanout, WebhookFanoutState

__all__ = ["Account", "ApiKey", "AuditLog", "Credit", "Customer", "Event", "EventDispatch", "FxRate", "IdempotencyKey",
           "Invitation", "JournalEntry", "LedgerAccount", "Membership", "PaymentIntent", "Posting", "Receipt", "Refund",
           "Transfer", "User", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookFanout",
           "WebhookFanoutState",
           "AnalyticsApiRollup", "AnalyticsApiRollupDaily", "AnalyticsApiRollupHourly", "AnalyticsFact",
           "AnalyticsPosition", "AnalyticsRollup", "AnalyticsRollupDaily", "AnalyticsRollupHourly",
           "Dispute", "File", "ProcessorFeed", "TransferClaim", "TransferClaimMessage",
           "BenchmarkPeriod", "BenchmarkRelease", "BenchmarkSellerValue", "PrivacyBudgetEntry"]
