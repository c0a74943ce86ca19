"""One decision from gathered figures: signals, score, rules, outcome and its explanation.

`server.fraud.service` gathers the figures (one SQL round trip, one Redis round trip) and
stores the result; this module only computes, so what decides is testable without either.
Order, as `server.fraud.rules` requires: the score and level are signals before any rule runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from server.fraud import model
from server.fraud.inputs import Subject
from server.fraud.rules import Decision, Rule, decide, fold, fold_list, parse
from server.fraud.signals import CATALOGUE, SignalType

OBJECT_TYPES = {"payment": "payment_intent", "transfer": "transfer"}


@lru_cache(maxsize=4096)
def parsed(text: str) -> Rule:
    """A stored rule, parsed once per process (it was checked against the account's lists when saved)."""
    return parse(text, CATALOGUE)


def account_rules(rows: Iterable[Mapping[str, Any]]) -> list[Rule]:
    return [parsed(row["rule"]).with_options(id=row["id"], shadow=bool(row["shadow"])) for row in rows]


def list_candidates(signals: Mapping[str, Any]) -> list[str]:
    """The folded text values a value list could hold for this payment."""
    return sorted({fold(value) for name, value in signals.items()
                   if isinstance(value, str) and CATALOGUE[name].type is SignalType.STRING})


@dataclass(frozen=True)
class Assessment:
    """A decision and everything needed to explain it."""

    id: str
    subject: Subject
    signals: dict[str, Any]  # catalogue names, risk_score and risk_level included
    score: model.Score
    decision: Decision
    list_hits: tuple[tuple[str, str], ...]  # (list alias, value) of the payment's values found in lists
    created: datetime

    @property
    def outcome(self) -> str:
        return self.decision.action

    @property
    def object_type(self) -> str:
        return OBJECT_TYPES[self.subject.transaction_type]

    def summary(self) -> dict[str, Any]:
        """What is kept on the payment or transfer itself (its `risk`): enough to read the decision."""
        return {"evaluation": self.id, "score": self.score.score, "level": self.score.level,
                "outcome": self.outcome, "rule": _rule_json(self.decision.rule),
                "reasons": [{"signal": c.signal, "points": c.points} for c in self.score.contributions if c.points]}

    def explanation(self) -> dict[str, Any]:
        """The stored explanation: every rule that matched, every factor's value and points, list hits."""
        return {"model": {"base": model.BASE_POINTS, "elevated_from": model.ELEVATED_FROM,
                          "highest_from": model.HIGHEST_FROM},
                "contributions": [c.as_json() for c in self.score.contributions],
                "rule": _rule_json(self.decision.rule),
                "rules_matched": [_rule_json(r) for r in self.decision.matched],
                "shadow_rules_matched": [_rule_json(r) for r in self.decision.shadow_matched],
                "list_hits": [{"list": alias, "value": value} for alias, value in self.list_hits]}


def _rule_json(rule: Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"id": rule.id, "action": rule.action, "rule": rule.text, "shadow": rule.shadow}


def assess(evaluation_id: str, subject: Subject, base: Mapping[str, Any], velocity: Mapping[str, Any],
           rules: Sequence[Rule], hits: Iterable[Sequence[str]], created: datetime) -> Assessment:
    """Score, then decide with the account's rules; `hits` are (alias, folded value) list items found."""
    signals = {**base, **velocity}
    shared = subject.card is not None and subject.card.shared_test_card
    scored = model.score(signals, shared_test_card=shared)
    signals.update(risk_score=scored.score, risk_level=scored.level)
    found: dict[str, set[str]] = {}
    for alias, value in hits:
        found.setdefault(alias, set()).add(value)
    lists = {alias: fold_list(values) for alias, values in found.items()}
    decision = decide(rules, signals, lists)
    pairs = tuple(sorted((alias, value) for alias, values in found.items() for value in values))
    return Assessment(evaluation_id, subject, signals, scored, decision, pairs, created)
