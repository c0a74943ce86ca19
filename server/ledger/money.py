"""Money: integer minor units of an ISO 4217 currency; exponents come from Babel."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision, list_currencies

from server.errors import InvalidRequest

# The largest amount one call may move, in minor units (a 12-digit major amount for 2-decimal currencies).
MAX_AMOUNT = 10**14


@lru_cache
def _known() -> frozenset[str]:
    return frozenset(c for c in list_currencies() if len(c) == 3 and c.isalpha() and not c.startswith("X"))


def currency_code(value: Any, param: str = "currency") -> str:
    """An upper-case ISO 4217 code Babel knows, or a 400 naming `param`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{param} must be a three-letter ISO 4217 currency code", param=param)
    code = value.strip().upper()
    if code not in _known():
        raise InvalidRequest(f"{param} '{value}' is not a supported ISO 4217 currency", param=param)
    return code


def exponent(currency: str) -> int:
    return get_currency_precision(currency)


def minor_amount(value: Any, currency: str, param: str = "amount", decimal_value: Any = None) -> int:
    """A positive integer amount in minor units, from `amount` (minor units) or a decimal string.

    `decimal_value` (e.g. "12.34") is in major units and may not have more
    decimals than the currency has (JPY 0, USD 2, KWD 3).
    """
    if decimal_value is not None:
        if value is not None:
            raise InvalidRequest("give amount or amount_decimal, not both", param=param)
        dparam = f"{param}_decimal"
        if not isinstance(decimal_value, str):
            raise InvalidRequest(f"{dparam} must be a decimal string such as \"12.34\"", param=dparam)
        try:
            number = Decimal(decimal_value.strip())
        except InvalidOperation:
            raise InvalidRequest(f"{dparam} must be a decimal string such as \"12.34\"", param=dparam) from None
        if not number.is_finite():
            raise InvalidRequest(f"{dparam} must be a finite number", param=dparam)
        exp = exponent(currency)
        scaled = number.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise InvalidRequest(f"{dparam} has more decimals than {currency} allows ({exp})", param=dparam)
        return _check_range(int(scaled), dparam)
    if value is None:
        raise InvalidRequest(f"{param} is required (a positive integer in the currency's minor unit)", param=param)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{param} must be a positive integer in the currency's minor unit (e.g. cents)",
                             param=param)
    return _check_range(value, param)


def _check_range(value: int, param: str) -> int:
    if value <= 0:
        raise InvalidRequest(f"{param} must be greater than zero", param=param)
    if value > MAX_AMOUNT:
        raise InvalidRequest(f"{param} must be at most {MAX_AMOUNT}", param=param)
    return value
