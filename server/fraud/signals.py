"""The catalogue of risk signals: every attribute a Radar rule may name, with its type and meaning.

The catalogue is data, not code, so that the rule parser (`server.fraud.rules`) can refuse an
unknown attribute or a type mismatch when a rule is saved, the dashboard can list what is
available, and the risk engine knows which values it must produce. Names follow Stripe Radar's
where Radar has one (`card_count_for_ip_address_hourly`, `amount_in_usd`, `risk_level`), so a
merchant's existing rules read the same here.

Velocity signals are generated from two small tables below (the keys a payment is counted
under, and the windows), so adding a window or a key is one line. Three families exist for
every key and window:

- `charge_attempts_per_<key>_<window>`: evaluations recorded for that key in the window,
  including the one being evaluated;
- `amount_in_usd_per_<key>_<window>`: the sum of those evaluations' `amount_in_usd`;
- `<other>_count_for_<key>_<window>`: how many distinct values of another key were seen with
  this key in the window (e.g. distinct cards per IP address), including the current one.

Windows are sliding and exact (see `server.fraud.velocity` for the edge convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class SignalType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"


@dataclass(frozen=True)
class Signal:
    name: str
    type: SignalType
    description: str
    values: tuple[str, ...] = ()  # a closed set of values, for text signals that have one


@dataclass(frozen=True)
class VelocityKey:
    """A value a payment is counted under, and its name inside signal names."""

    kind: str
    label: str


@dataclass(frozen=True)
class VelocityWindow:
    """A sliding window: its suffix in signal names and its length."""

    suffix: str
    milliseconds: int
    label: str


VELOCITY_KEYS: tuple[VelocityKey, ...] = (
    VelocityKey("card", "card fingerprint"),
    VelocityKey("customer", "customer"),
    VelocityKey("email", "email address"),
    VelocityKey("ip_address", "IP address"),
)

VELOCITY_WINDOWS: tuple[VelocityWindow, ...] = (
    VelocityWindow("minutely", 60_000, "last minute"),
    VelocityWindow("hourly", 3_600_000, "last hour"),
    VelocityWindow("daily", 86_400_000, "last 24 hours"),
    VelocityWindow("weekly", 604_800_000, "last 7 days"),
)

RISK_LEVELS = ("normal", "elevated", "highest")

S, N, B = SignalType.STRING, SignalType.NUMBER, SignalType.BOOL

_BASE: tuple[Signal, ...] = (
    Signal("amount", N, "The payment amount in the smallest unit of its currency, as in the API."),
    Signal("amount_in_usd", N, "The payment amount converted to US dollars (major units, e.g. 512.40)."),
    Signal("currency", S, "The payment's three-letter ISO currency code, e.g. 'USD'."),
    Signal("card_country", S, "Two-letter ISO country of the card's issuer, e.g. 'US'."),
    Signal("ip_country", S, "Two-letter ISO country of the buyer's IP address (offline lookup); "
                            "missing for private or unknown addresses."),
    Signal("card_brand", S, "The card network: 'visa', 'mastercard', 'amex', 'discover', ..."),
    Signal("card_funding", S, "The card's funding type.", ("credit", "debit", "prepaid", "unknown")),
    Signal("card_fingerprint", S, "A stable fingerprint of the card number; the same card has the same value."),
    Signal("card_reported_stolen", B, "True when the card's issuer has reported it lost or stolen (the simulator's "
                                      "issuer reports its fraudulent test card, 4100 0000 0000 0019)."),
    Signal("email", S, "The buyer's email address."),
    Signal("email_domain", S, "The part of the buyer's email address after '@'."),
    Signal("customer", S, "The customer id the payment belongs to, e.g. 'cus_...'."),
    Signal("ip_address", S, "The buyer's IP address, as given to confirm or seen on the request."),
    Signal("user_agent", S, "The buyer's browser user agent, when given."),
    Signal("is_new_customer", B, "True when the customer has no earlier successful payment."),
    Signal("is_3d_secure", B, "True when the payment was authenticated with 3D Secure."),
    Signal("amount_vs_customer_median", N, "The amount divided by the median of the customer's earlier "
                                           "successful payments; missing for a first payment."),
    Signal("transaction_type", S, "What is evaluated: a card 'payment' or a wallet 'transfer'.",
           ("payment", "transfer")),
    Signal("risk_score", N, "The risk score from 0 to 99 (see the scoring model)."),
    Signal("risk_level", S, "'normal' below 65, 'elevated' from 65 to 74, 'highest' from 75.", RISK_LEVELS),
)


def _velocity_signals() -> tuple[Signal, ...]:
    signals: list[Signal] = []
    for key in VELOCITY_KEYS:
        for window in VELOCITY_WINDOWS:
            signals.append(Signal(
                attempts_signal(key.kind, window.suffix), N,
                f"Payments evaluated for this {key.label} in the {window.label}, this one included."))
            signals.append(Signal(
                amount_signal(key.kind, window.suffix), N,
                f"Sum of amount_in_usd over this {key.label}'s payments in the {window.label}, this one included."))
            for other in VELOCITY_KEYS:
                if other.kind != key.kind:
                    signals.append(Signal(
                        distinct_signal(other.kind, key.kind, window.suffix), N,
                        f"Distinct {other.label}s seen with this {key.label} in the {window.label}, "
                        "this payment's included."))
    return tuple(signals)


def attempts_signal(key: str, window: str) -> str:
    return f"charge_attempts_per_{key}_{window}"


def amount_signal(key: str, window: str) -> str:
    return f"amount_in_usd_per_{key}_{window}"


def distinct_signal(counted: str, key: str, window: str) -> str:
    return f"{counted}_count_for_{key}_{window}"


CATALOGUE: MappingProxyType[str, Signal] = MappingProxyType(
    {signal.name: signal for signal in (*_BASE, *_velocity_signals())}
)
