"""Money: integer minor units of an ISO 4217 currency; exponents come from Babel.

Every domain validates amounts here (`amount`, `minor_amount`,
`decimal_amount`), so credits, transfers, payment intents, captures and
refunds accept and refuse the same things. Amounts are 64-bit in the
database; MAX_AMOUNT keeps them far inside that range.
"""

from __future__ import annotations

import re
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


def amount(value: Any, param: str = "amount", *, maximum: int = MAX_AMOUNT) -> int:
    """The one validation of an amount in minor units, for every domain: a positive JSON integer.

    Strict: `"2000"`, `2000.0` and `true` are refused with a 400 naming
    `param`, as is anything above `maximum` (MAX_AMOUNT unless a smaller
    bound applies, such as what remains to capture).
    """
    if value is None:
        raise InvalidRequest(f"{param} is required (a positive integer in the currency's minor unit)", param=param)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{param} must be a positive integer in the currency's minor unit (e.g. cents), "
                             f"not {type(value).__name__} {_show(value)}", param=param)
    return _check_range(value, param, maximum)


def optional_amount(value: Any, param: str = "amount", *, maximum: int = MAX_AMOUNT) -> int | None:
    return None if value is None else amount(value, param, maximum=maximum)


def amount_filter(value: Any, param: str) -> int | None:
    """A bound of an amount range filter (`amount[gte]`): a non-negative integer, given as digits."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and DIGITS.fullmatch(value) and int(value) <= MAX_AMOUNT:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT:
        return value
    raise InvalidRequest(f"{param} must be an integer from 0 to {MAX_AMOUNT}", param=param)


# Digits are ASCII only: no "1_000", no "١٢٣", no exponent.
DIGITS = re.compile(r"[0-9]{1,20}")
DECIMAL = re.compile(r"(?P<whole>[0-9]{1,20})(?:\.(?P<fraction>[0-9]{1,20}))?")


def decimal_amount(value: Any, currency: str, param: str = "amount_decimal") -> int:
    """Minor units from a decimal string in major units ("12.34" USD -> 1234).

    Plain ASCII digits with an optional fraction; no more decimals than the
    currency has (JPY 0, USD 2, KWD 3), trailing zeros aside.
    """
    match = DECIMAL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidRequest(f"{param} must be a decimal string of ASCII digits such as \"12.34\"", param=param)
    exp = exponent(currency)
    fraction = (match["fraction"] or "").rstrip("0")
    if len(fraction) > exp:
        raise InvalidRequest(f"{param} has more decimals than {currency} allows ({exp})", param=param)
    return _check_range(int(match["whole"] + fraction.ljust(exp, "0")), param, MAX_AMOUNT)


def minor_amount(value: Any, currency: str, param: str = "amount", decimal_value: Any = None) -> int:
    """A positive integer amount in minor units, from `amount` (minor units) or `amount_decimal`."""
    if decimal_value is not None:
        if value is not None:
            raise InvalidRequest("give amount or amount_decimal, not both", param=param)
        return decimal_amount(decimal_value, currency, f"{param}_decimal")
    return amount(value, param)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_range(value: int, param: str, maximum: int) -> int:
    if value <= 0:
        raise InvalidRequest(f"{param} must be greater than zero", param=param)
    if value > maximum:
        raise InvalidRequest(f"{param} must be at most {maximum}", param=param)
    return value
