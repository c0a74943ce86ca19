"""Reference rates to US dollars for `amount_in_usd`, a risk signal only (never money).

The account's own FX rate to USD wins when an admin has set one (Settings, FX rates). Without
one, these rates give the signal: rules compare it with thresholds (`:amount_in_usd: > 500`), for
which a few percent of drift does not matter, and a currency missing here leaves the signal
missing (a rule on it then does not match). Velocity amount sums use the same figure, in cents.
"""

from __future__ import annotations

from types import MappingProxyType

REFERENCE_USD_RATES = MappingProxyType({
    "USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CHF": 1.13, "CAD": 0.73, "AUD": 0.66, "NZD": 0.60, "JPY": 0.0067,
    "CNY": 0.138, "HKD": 0.128, "SGD": 0.74, "INR": 0.012, "SEK": 0.095, "NOK": 0.093, "DKK": 0.145,
    "PLN": 0.25, "CZK": 0.043, "HUF": 0.0027, "MXN": 0.055, "BRL": 0.18, "ZAR": 0.055, "TRY": 0.029,
    "KRW": 0.00073, "ILS": 0.27, "AED": 0.272,
})


def usd_rate(currency: str, account_rate: float | None) -> float | None:
    """Dollars per unit of `currency`: the account's rate, else the reference, else unknown."""
    if currency.upper() == "USD":
        return 1.0
    return account_rate if account_rate is not None else REFERENCE_USD_RATES.get(currency.upper())
