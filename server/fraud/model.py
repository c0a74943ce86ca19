"""The risk score: a sum of weighted signals anyone can recompute by hand.

    score = min(99, 5 + the points of every factor below)
    level = normal below 65, elevated from 65 to 74, highest from 75

Each factor reads one signal (the country factor reads two) and gives points by a stated
formula; the explanation stored with every decision lists each factor with the value it read
and the points it gave, zero included. docs/fraud.md carries the same table.

Why these factors and weights:

- **A card reported stolen** is the strongest evidence there is: 85 points, highest on its own.
- **Bursts on one card** (attempts in a minute, in an hour) and **card testing** (many cards
  from one IP address, many emails on one card) are the patterns of stolen-card use; their
  points grow with each attempt beyond what a real buyer does (a retry or two) and stop at a cap,
  so that one pattern alone ends at *elevated* and two together reach *highest*.
- **An amount far above the customer's usual** (their median) and **a card from another
  country than the buyer's IP address** are weaker: they are common in honest traffic too, so
  they never reach elevated alone.
- Attempts per customer or email are *not* scored: a returning customer buying twice is the
  best kind of traffic. They are signals all the same, for rules.

**Test cards in test mode.** The simulator's documented test cards (4242 4242 4242 4242 and
the others) are shared by everyone who tests, so the factors about the card's history (its
attempts, the emails seen with it, the cards seen with the same IP address or email) give no
points for them in test mode: a developer paying twenty times with 4242 is not a fraudster.
Their signals are still exact, and rules still see them. Any other card number scores normally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.fraud.signals import RISK_LEVELS

BASE_POINTS = 5
MAX_SCORE = 99
ELEVATED_FROM = 65
HIGHEST_FROM = 75


@dataclass(frozen=True)
class Factor:
    """One weighted signal.

    - `per` and `over`: `per` points for each unit of the value beyond `over`, at most `cap`;
    - `steps`: the points of the highest step the value exceeds, e.g. ((5, 20), (20, 35));
    - `flag`: `flag` points when the (boolean) value is true;
    - `differs_from`: `flag` points when both signals are known and differ.
    """

    signal: str
    why: str
    per: int = 0
    over: float = 0
    cap: int = 0
    steps: tuple[tuple[float, int], ...] = ()
    flag: int = 0
    differs_from: str | None = None
    about_card_history: bool = False

    @property
    def label(self) -> str:
        return f"{self.signal} vs {self.differs_from}" if self.differs_from else self.signal

    def formula(self) -> str:
        if self.per:
            return f"+{self.per} for each one over {self.over:g}, at most {self.cap}"
        if self.steps:
            return "; ".join(f"+{points} above {threshold:g}" for threshold, points in self.steps)
        if self.differs_from:
            return f"+{self.flag} when both are known and differ"
        return f"+{self.flag} when true"

    def points(self, signals: Mapping[str, Any]) -> int:
        value = signals.get(self.signal)
        if self.differs_from is not None:
            other = signals.get(self.differs_from)
            return self.flag if isinstance(value, str) and isinstance(other, str) and value != other else 0
        if self.flag:
            return self.flag if value is True else 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0
        if self.per:
            return min(self.cap, int(self.per * max(0.0, value - self.over)))
        return max((points for threshold, points in self.steps if value > threshold), default=0)


FACTORS: tuple[Factor, ...] = (
    Factor("card_reported_stolen", "the card's issuer reported it lost or stolen", flag=85),
    Factor("charge_attempts_per_card_minutely", "attempts with this card in the last minute",
           per=15, over=2, cap=45, about_card_history=True),
    Factor("charge_attempts_per_card_hourly", "attempts with this card in the last hour",
           per=6, over=4, cap=30, about_card_history=True),
    Factor("email_count_for_card_daily", "emails used with this card in the last 24 hours",
           per=10, over=2, cap=30, about_card_history=True),
    Factor("card_count_for_ip_address_hourly", "cards used from this IP address in the last hour",
           per=15, over=2, cap=60, about_card_history=True),
    Factor("card_count_for_email_daily", "cards used with this email in the last 24 hours",
           per=10, over=3, cap=30, about_card_history=True),
    Factor("charge_attempts_per_ip_address_minutely", "attempts from this IP address in the last minute",
           per=8, over=5, cap=32),
    Factor("amount_vs_customer_median", "the amount against the customer's median payment",
           steps=((5, 20), (20, 35))),
    Factor("card_country", "the card's country against the IP address's country", flag=15,
           differs_from="ip_country"),
    Factor("amount_in_usd", "the amount in US dollars", steps=((1000, 8), (5000, 16))),
)


@dataclass(frozen=True)
class Contribution:
    signal: str
    value: Any
    points: int
    why: str
    formula: str
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        body = {"signal": self.signal, "value": self.value, "points": self.points, "why": self.why,
                "formula": self.formula}
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True)
class Score:
    score: int
    level: str
    contributions: tuple[Contribution, ...]


def level_of(score: int) -> str:
    if score >= HIGHEST_FROM:
        return RISK_LEVELS[2]
    return RISK_LEVELS[1] if score >= ELEVATED_FROM else RISK_LEVELS[0]


def score(signals: Mapping[str, Any], *, shared_test_card: bool = False,
          factors: Sequence[Factor] = FACTORS) -> Score:
    """Score the signals; with `shared_test_card`, the card-history factors give no points (see above)."""
    contributions = []
    for factor in factors:
        value: Any = signals.get(factor.signal)
        if factor.differs_from is not None:  # both values, by name
            value = {factor.signal: value, factor.differs_from: signals.get(factor.differs_from)}
        points, note = factor.points(signals), None
        if shared_test_card and factor.about_card_history:
            points, note = 0, "a shared test card in test mode: its history is not scored"
        contributions.append(Contribution(factor.label, value, points, factor.why, factor.formula(), note))
    total = min(MAX_SCORE, BASE_POINTS + sum(c.points for c in contributions))
    return Score(total, level_of(total), tuple(contributions))
