"""What a risk evaluation looks at, and the catalogue signals it makes of it (velocity aside).

Nothing here reads a database or Redis: `engine.py` gathers the figures and this module turns
them into signals, so the arithmetic is tested on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from server import validation
from server.errors import InvalidRequest
from server.fraud import geoip
from server.fraud.velocity import normalise

TransactionType = Literal["payment", "transfer"]


@dataclass(frozen=True)
class CardFacts:
    """What is known of the card before the processor is asked (never its number)."""

    fingerprint: str
    brand: str
    country: str | None
    funding: str
    reported_stolen: bool
    shared_test_card: bool  # a documented test card used in test mode (server.fraud.model)


@dataclass(frozen=True)
class Buyer:
    """Who pays, as the confirm call says (or, from a browser, the request's own address)."""

    ip_address: str | None = None
    email: str | None = None
    user_agent: str | None = None


MAX_USER_AGENT = 500


def buyer(ip_address: object = None, email: object = None, user_agent: object = None) -> Buyer:
    """The buyer's details given to confirm, checked: a 400 naming the field for one that is not one."""
    ip = None
    if ip_address is not None and ip_address != "":
        try:
            ip = ipaddress.ip_address(str(ip_address).strip()).compressed if isinstance(ip_address, str) else None
        except ValueError:
            ip = None
        if ip is None:
            raise InvalidRequest("ip_address must be an IPv4 or IPv6 address", param="ip_address")
    agent = validation.text(user_agent, "user_agent", MAX_USER_AGENT, strip=True) or None
    return Buyer(ip, validation.optional_email(email), agent)


@dataclass(frozen=True)
class Subject:
    """One payment or transfer about to happen."""

    transaction_type: TransactionType
    object_id: str
    amount: int  # minor units of `currency`
    currency: str
    customer: str | None = None
    email: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    card: CardFacts | None = None


@dataclass(frozen=True)
class Usual:
    """The customer's earlier successful payments (or sent transfers) in the same currency."""

    count: int
    median: float | None


def card_fingerprint(key: bytes, account_id: str, number: str) -> str:
    """The card's fingerprint within one account: keyed, so it cannot be reversed to a card number
    by trying numbers, and different per account, so accounts cannot correlate their customers."""
    return hmac.new(key, f"{account_id}:{number}".encode(), hashlib.sha256).hexdigest()[:32]


def public_ip(value: str | None) -> str | None:
    """The address in its one spelling when it says something about the buyer; None for a private,
    loopback or reserved one (a proxy, a load balancer or a local test), which is neither counted nor located."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return normalise("ip_address", str(address)) if address.is_global else None


def amount_in_usd(amount: int, exponent: int, usd_rate: float | None) -> float | None:
    """Major US dollars, to the cent; None when no rate to USD is known."""
    if usd_rate is None:
        return None
    return round(amount / 10**exponent * usd_rate, 2)


def base_signals(subject: Subject, usual: Usual, usd: float | None) -> dict[str, Any]:
    """Every non-velocity signal of the catalogue that the subject gives, with real JSON types."""
    email = subject.email.strip().lower() if subject.email else None
    ip = public_ip(subject.ip_address)
    signals: dict[str, Any] = {
        "transaction_type": subject.transaction_type,
        "amount": subject.amount,
        "amount_in_usd": usd,
        "currency": subject.currency.upper(),
        "customer": subject.customer,
        "email": email,
        "email_domain": email.rsplit("@", 1)[1] if email and "@" in email else None,
        "ip_address": normalise("ip_address", subject.ip_address) if subject.ip_address else None,
        "ip_country": geoip.country_of(ip) if ip else None,
        "user_agent": subject.user_agent,
        "is_3d_secure": False,  # no 3D Secure step exists yet: every payment is unauthenticated
    }
    if subject.customer is not None:
        signals["is_new_customer"] = usual.count == 0
        if usual.median:
            signals["amount_vs_customer_median"] = round(subject.amount / usual.median, 4)
    if subject.card is not None:
        card = subject.card
        signals.update(card_fingerprint=card.fingerprint, card_brand=card.brand, card_country=card.country,
                       card_funding=card.funding, card_reported_stolen=card.reported_stolen)
    return {name: value for name, value in signals.items() if value is not None}


def velocity_keys(subject: Subject) -> dict[str, str | None]:
    """The keys the subject is counted under: a private IP address is not one (see `public_ip`)."""
    return {"card": subject.card.fingerprint if subject.card else None, "customer": subject.customer,
            "email": subject.email, "ip_address": public_ip(subject.ip_address)}
