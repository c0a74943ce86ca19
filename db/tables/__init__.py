"""Every table of the project; the Piccolo app finds them here."""

from db.tables.accounts import Account, AuditLog, Invitation, Membership, User
from db.tables.events import Event
from db.tables.keys import ApiKey
from db.tables.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookFanout, WebhookFanoutState

__all__ = ["Account", "ApiKey", "AuditLog", "Event", "Invitation", "Membership", "User", "WebhookAttempt",
           "WebhookDelivery", "WebhookEndpoint", "WebhookFanout", "WebhookFanoutState"]
