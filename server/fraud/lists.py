"""Value lists: what each item type accepts, one spelling per value, and the lists every account starts with.

Names follow Stripe's `radar.value_list` (`item_type`, `alias`). A rule names a list by its
alias (`:email: in @blocked_emails`); rules compare text ignoring ASCII case, so a list is
matched on its values folded the same way (`server.fraud.rules.fold`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from server.errors import InvalidRequest
from server.fraud.rules import fold

ITEM_TYPES = ("card_fingerprint", "email", "ip_address", "country", "customer_id", "string")
ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")
MAX_VALUE = 800
MAX_NAME = 100
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def clean_value(item_type: str, value: object, param: str = "value") -> str:
    """The one spelling of `value` for a list of `item_type`; a 400 naming `param` when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{param} must be a non-empty string", param=param)
    text = value.strip()
    if len(text) > MAX_VALUE:
        raise InvalidRequest(f"{param} is at most {MAX_VALUE} characters", param=param)
    if item_type == "email":
        if not _EMAIL.match(text) or len(text) > 320:
            raise InvalidRequest(f"{param} must be an email address for a list of emails", param=param)
        return text.lower()
    if item_type == "ip_address":
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            raise InvalidRequest(f"{param} must be an IPv4 or IPv6 address", param=param) from None
    if item_type == "country":
        if not re.fullmatch(r"[A-Za-z]{2}", text):
            raise InvalidRequest(f"{param} must be a two-letter ISO country code such as 'US'", param=param)
        return text.upper()
    if item_type in ("card_fingerprint", "customer_id") and not _TOKEN.match(text):
        raise InvalidRequest(f"{param} must be letters, digits, '_' or '-' (at most 64) for a list of "
                             f"{item_type}s", param=param)
    return text


def folded(value: str) -> str:
    """How an item is matched: folded like every text comparison in rules."""
    return fold(value)


@dataclass(frozen=True)
class DefaultList:
    alias: str
    name: str
    item_type: str


DEFAULT_LISTS: tuple[DefaultList, ...] = (
    DefaultList("allowed_card_fingerprints", "Allowed cards", "card_fingerprint"),
    DefaultList("allowed_emails", "Allowed emails", "email"),
    DefaultList("allowed_ip_addresses", "Allowed IP addresses", "ip_address"),
    DefaultList("allowed_customers", "Allowed customers", "customer_id"),
    DefaultList("blocked_card_fingerprints", "Blocked cards", "card_fingerprint"),
    DefaultList("blocked_emails", "Blocked emails", "email"),
    DefaultList("blocked_ip_addresses", "Blocked IP addresses", "ip_address"),
    DefaultList("blocked_customers", "Blocked customers", "customer_id"),
    DefaultList("blocked_countries", "Blocked countries (card or IP address)", "country"),
)
BLOCKED_CARDS = "blocked_card_fingerprints"  # where "refund as fraud" puts the card

DEFAULT_RULES: tuple[str, ...] = (
    "allow if :card_fingerprint: in @allowed_card_fingerprints or :email: in @allowed_emails"
    " or :ip_address: in @allowed_ip_addresses or :customer: in @allowed_customers",
    "block if :card_fingerprint: in @blocked_card_fingerprints or :email: in @blocked_emails"
    " or :ip_address: in @blocked_ip_addresses or :customer: in @blocked_customers"
    " or :card_country: in @blocked_countries or :ip_country: in @blocked_countries",
    "block if :risk_level: = 'highest'",
)
