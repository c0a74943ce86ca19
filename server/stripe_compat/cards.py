"""Stripe's test PaymentMethod tokens, mapped to the processor simulator's test cards (server/payments/cards.py).

`pm_card_visa` and friends are what Stripe integrations use in their test suites; here each is one of the
simulator's documented numbers, with an expiry in the future and a CVC. They are test-mode tokens: a live
key cannot use them, as with Stripe.
"""

from __future__ import annotations

from typing import Any

from server.errors import ErrorCode, InvalidRequest

TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_radarBlock": "4100000000000019",
    "pm_card_createDispute": "4000000000000259",
}
EXPIRY = (12, 2099)


def from_token(token: str, livemode: bool) -> dict[str, Any]:
    number = TOKENS.get(token)
    if number is None:
        raise InvalidRequest(f"No such PaymentMethod: '{token}'; Paydeck keeps no PaymentMethod objects: use a "
                             f"test token ({', '.join(TOKENS)}) or payment_method_data[card]",
                             param="payment_method", code=ErrorCode.RESOURCE_MISSING)
    if livemode:
        raise InvalidRequest(f"{token} is a test token and cannot be used with a live key",
                             param="payment_method", code=ErrorCode.PARAMETER_INVALID)
    return {"number": number, "exp_month": EXPIRY[0], "exp_year": EXPIRY[1], "cvc": "123"}
