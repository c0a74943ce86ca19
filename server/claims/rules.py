"""The rules of transfer claims as data: statuses, reasons, parties and the clock's limits. A leaf."""

from __future__ import annotations

from datetime import timedelta

INQUIRY_WINDOW = timedelta(days=180)  # the sender may open an inquiry this long after the transfer
ESCALATE_AFTER = timedelta(days=20)  # an inquiry not settled between the parties becomes a claim
APPEAL_WINDOW = timedelta(days=10)  # the losing party may appeal a decision once, this long after it

STATUSES = ("inquiry", "claim", "appeal", "refunded", "denied", "withdrawn")
OPEN = ("inquiry", "claim", "appeal")
AWAITING_DECISION = ("claim", "appeal")
REASONS = ("not_received", "not_as_described", "unauthorized", "duplicate", "other")
SENDER, RECEIVER, MERCHANT = "sender", "receiver", "merchant"
AUTHORS = (SENDER, RECEIVER, MERCHANT)
DECISIONS = ("refund", "deny")
MAX_MESSAGE = 5000
MAX_NOTE = 2000


def loser_of(status: str) -> str:
    """Who may appeal a decision: the receiver a refund, the sender a denial."""
    return RECEIVER if status == "refunded" else SENDER
