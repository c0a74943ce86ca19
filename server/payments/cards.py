"""Card numbers: Luhn, brand, and the simulator's documented test cards.

A card number lives only in memory while it is validated and sent to the
processor; what we keep is what the processor reports back (brand, last4,
expiry, country, fingerprint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.errors import ErrorCode, InvalidRequest


@dataclass(frozen=True)
class TestCard:
    number: str
    outcome: str  # succeeded | declined | timeout | dispute | inquiry
    decline_code: str | None
    description: str
    dispute_reason: str | None = None  # dispute and inquiry cards: the reason the processor reports


TEST_CARDS: list[TestCard] = [
    TestCard("4242424242424242", "succeeded", None, "Visa: succeeds"),
    TestCard("5555555555554444", "succeeded", None, "Mastercard: succeeds"),
    TestCard("378282246310005", "succeeded", None, "American Express: succeeds"),
    TestCard("4000000000000002", "declined", "generic_decline", "Declined (generic decline)"),
    TestCard("4000000000009995", "declined", "insufficient_funds", "Declined: insufficient funds"),
    TestCard("4000000000000127", "declined", "incorrect_cvc", "Declined: incorrect CVC"),
    TestCard("4000000000000069", "declined", "expired_card", "Declined: expired card"),
    TestCard("4100000000000019", "declined", "fraudulent",
             "Declined: fraudulent (blocked by the processor's risk check)"),
    TestCard("4000000000000119", "timeout", None,
             "Processor timeout: the charge succeeds at the processor, but the answer comes too late; "
             "the payment stays `processing` until the reconciler asks the processor"),
    TestCard("4000000000000259", "dispute", None, "Succeeds, then the cardholder disputes it as fraudulent",
             "fraudulent"),
    TestCard("4000000000002685", "dispute", None, "Succeeds, then the cardholder disputes it: product not received",
             "product_not_received"),
    TestCard("4000000000001976", "inquiry", None,
             "Succeeds, then the issuer opens an inquiry (a warning before any chargeback)", "fraudulent"),
]
BY_NUMBER = {c.number: c for c in TEST_CARDS}

DECLINE_MESSAGES = {
    "generic_decline": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "expired_card": "The card has expired.",
    "fraudulent": "The card was declined as likely fraudulent.",
    "processing_error": "The processor could not be reached; the charge was not made.",
    "authorization_expired": "The authorization expired before it was captured.",
}


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "unknown"


def _integer(value: object) -> int:
    if not isinstance(value, str | int | float):
        raise TypeError(f"not a number: {type(value).__name__}")
    return int(value)


def clean_card(card: Mapping[str, object]) -> dict[str, Any]:
    """Validate card input (number, exp_month, exp_year, cvc); raise InvalidRequest naming the field."""
    number = "".join(str(card.get("number") or "").split()).replace("-", "")
    if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
        raise InvalidRequest("the card number is not a valid card number", param="card[number]",
                             code=ErrorCode.INVALID_NUMBER)
    try:
        month, year = _integer(card.get("exp_month")), _integer(card.get("exp_year"))
    except (TypeError, ValueError):
        raise InvalidRequest("exp_month and exp_year must be integers", param="card[exp_month]",
                             code=ErrorCode.INVALID_EXPIRY) from None
    if not 1 <= month <= 12:
        raise InvalidRequest("exp_month must be between 1 and 12", param="card[exp_month]",
                             code=ErrorCode.INVALID_EXPIRY)
    if year < 100:
        year += 2000
    if not 2000 <= year <= 2100:
        raise InvalidRequest("exp_year is not a valid year", param="card[exp_year]", code=ErrorCode.INVALID_EXPIRY)
    cvc = str(card.get("cvc") or "")
    if not cvc.isdigit() or not 3 <= len(cvc) <= 4:
        raise InvalidRequest("cvc must be 3 or 4 digits", param="card[cvc]", code=ErrorCode.INVALID_CVC)
    return {"number": number, "exp_month": month, "exp_year": year, "cvc": cvc}
