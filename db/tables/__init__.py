"""Every table of the project; the Piccolo app finds them here."""

from db.tables.accounts import Account, AuditLog, Invitation, Membership, User
from db.tables.events import Event, EventDispatch
from db.tables.keys import ApiKey

__all__ = ["Account", "ApiKey", "AuditLog", "Event", "EventDispatch", "Invitation", "Membership", "User"]
