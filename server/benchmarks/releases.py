"""What one period releases, for every cohort and metric, decided and drawn in memory (no database).

`plan_period()` takes every seller active in the period (one exact value per metric, or None) and
the release policy, and returns the releases to store, who spent what on each, and the cohort
each seller is benchmarked in. The service stores the result in one transaction.

1. **Regional counts.** Every (category, region) pair gets a DP count of its sellers (ε_count),
   empty ones included, so that which cohorts exist says nothing either.
2. **Cohorts.** A regional cohort whose noisy count reaches k_median is benchmarked on its own.
   The sellers of the category's other regions (and of accounts whose country has no region)
   form the category's global fallback cohort. Its size is the sum of its regions' noisy counts
   (post-processing: those sellers spend nothing more) plus a DP count of the sellers with no
   region, the only ones who had none. Every seller is therefore counted exactly once (parallel
   composition over the regions), and each seller's data feeds exactly one cohort per metric.
3. **Metrics.** Each cohort's noisy count picks its plan (`mechanism.plan_release`): all three
   quartiles, the median only, or nothing. A metric's release uses the sellers with a defined
   value for it; each of them spends the plan's ε, as OpenDP's privacy map reports it.
4. **Budget.** Before anything is drawn, the release is checked against every member's monthly
   cap: if any member would go past it, the release is refused, draws nothing and charges
   nobody; it is stored as refused with the reason.

With the default policy a seller spends ε_count (0.1) for the one count it is in and 0.48 per
metric: at most 2.98 of the 3.0 cap. (Counting the fallback cohort afresh, as a first version
did, charged its sellers a second 0.1 and left less for the quantiles, whose accuracy at 500
sellers is what the budget buys.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from server.accounts.business import CATEGORIES, GLOBAL, REGIONS, normal_category
from server.benchmarks.mechanism import (
    ReleasePlan,
    count_measurement,
    plan_release,
    release_count,
    release_quantiles,
)
from server.benchmarks.metrics import METRICS, ReleasePolicy
from server.ids import new_id

COUNT = "count"  # the kind of a cohort-size release; metric releases are named after their metric
TOLERANCE = 1e-9  # float sums of ε compared with the cap


class Status(StrEnum):
    RELEASED = "released"
    SUPPRESSED = "suppressed"
    REFUSED = "refused"


@dataclass(frozen=True)
class Seller:
    account_id: str
    category: str
    region: str | None
    values: Mapping[str, float | None]


@dataclass(frozen=True)
class Cohort:
    category: str
    region: str  # a key of REGIONS, or GLOBAL

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.region)


@dataclass
class Release:
    """One stored release: a cohort's size bucket (kind COUNT) or one metric's quantiles."""

    cohort: Cohort
    kind: str
    status: Status
    size_bucket: str | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    epsilon: float = 0.0  # what each member spent on it
    members: tuple[str, ...] = ()  # the sellers charged
    reason: str = ""
    id: str = field(default_factory=lambda: new_id("bmr"))
    plan: ReleasePlan | None = None  # a count's: what its cohort gets (not stored; the bucket says it)
    noisy: int | None = None  # a count's noisy size (not stored: only the bucket is published)


@dataclass
class PeriodPlan:
    releases: list[Release] = field(default_factory=list)
    cohort_of: dict[str, Cohort] = field(default_factory=dict)  # seller -> the cohort benchmarking it
    metric_release: dict[tuple[str, str, str], Release] = field(default_factory=dict)  # (cat, region, metric)


class Budget:
    """Each seller's ε spent in the period so far, against the monthly cap."""

    def __init__(self, cap: float, spent: Mapping[str, float] | None = None) -> None:
        self.cap = cap
        self.spent: dict[str, float] = dict(spent or {})

    def over(self, members: Iterable[str], epsilon: float) -> int:
        """How many of `members` would go past the cap by spending `epsilon` more."""
        return sum(1 for m in members if self.spent.get(m, 0.0) + epsilon > self.cap + TOLERANCE)

    def charge(self, members: Iterable[str], epsilon: float) -> None:
        for m in members:
            self.spent[m] = self.spent.get(m, 0.0) + epsilon


def refusal(over: int, cap: float) -> str:
    sellers = "seller" if over == 1 else "sellers"
    return (f"Refused: it would take {over} {sellers} past the monthly privacy budget of ε = {cap:g}; "
            "nothing was drawn, released or recorded.")


def too_small(policy: ReleasePolicy) -> str:
    return (f"Suppressed: fewer than about {policy.k_median} sellers (counted with noise) are in this "
            "cohort, too few to publish anything about them.")


def plan_period(sellers: Iterable[Seller], policy: ReleasePolicy, spent: Mapping[str, float] | None = None
                ) -> PeriodPlan:
    """Every release of a period; see the module docstring."""
    budget = Budget(policy.monthly_epsilon_cap, spent)
    plan = PeriodPlan()
    by_cohort: dict[tuple[str, str | None], list[Seller]] = {}
    for seller in sellers:
        category = normal_category(seller.category)
        by_cohort.setdefault((category, seller.region), []).append(seller)
    for category in CATEGORIES:
        unregioned = list(by_cohort.get((category, None), []))
        pooled: list[Seller] = []
        pooled_counts: list[Release] = []
        for region in REGIONS:
            members = by_cohort.get((category, region), [])
            count = _count(Cohort(category, region), members, policy, budget, plan)
            if count.size_bucket is None:
                pooled += members
                pooled_counts.append(count)
                if count.status is Status.RELEASED:
                    count.reason = ("Too small on its own: its sellers are benchmarked in the category's "
                                    "global cohort.")
            else:
                _metrics(Cohort(category, region), members, count, policy, budget, plan)
        fallback = Cohort(category, GLOBAL)
        count = _count(fallback, unregioned, policy, budget, plan, pooled_counts)
        _metrics(fallback, unregioned + pooled, count, policy, budget, plan)
    return plan


def _count(cohort: Cohort, members: list[Seller], policy: ReleasePolicy, budget: Budget,
           plan: PeriodPlan, counted: Sequence[Release] = ()) -> Release:
    """A DP count of `members`, plus the noisy counts already released for `counted` cohorts.

    Only `members` are charged: the sellers behind `counted` were counted once already, and a sum
    of released counts is post-processing. If one of those counts was refused, its sellers have
    no noisy size to add, so this count is refused too rather than count them a second time.
    """
    ids = tuple(s.account_id for s in members)
    epsilon = count_measurement(policy.epsilon_count).map(1)
    if any(c.noisy is None for c in counted):
        release = Release(cohort, COUNT, Status.REFUSED, reason="Refused: a region pooled into it could not be "
                                                                "counted within the privacy budget.")
    elif over := budget.over(ids, epsilon):
        release = Release(cohort, COUNT, Status.REFUSED, reason=refusal(over, policy.monthly_epsilon_cap))
    else:
        noisy = release_count(len(ids), policy.epsilon_count) + sum(c.noisy or 0 for c in counted)
        budget.charge(ids, epsilon)
        decided = plan_release(noisy, policy)
        release = Release(cohort, COUNT, Status.RELEASED, decided.size_bucket, epsilon=epsilon, members=ids,
                          plan=decided, noisy=noisy)
    plan.releases.append(release)
    return release


def _metrics(cohort: Cohort, members: list[Seller], count: Release, policy: ReleasePolicy, budget: Budget,
             plan: PeriodPlan) -> None:
    for seller in members:
        plan.cohort_of[seller.account_id] = cohort
    for name in METRICS:
        contributing = {s.account_id: value for s in members if (value := s.values.get(name)) is not None}
        release = _metric(cohort, name, contributing, count, policy, budget)
        plan.releases.append(release)
        plan.metric_release[(cohort.category, cohort.region, name)] = release


def _metric(cohort: Cohort, name: str, contributing: dict[str, float], count: Release, policy: ReleasePolicy,
            budget: Budget) -> Release:
    if count.status is Status.REFUSED:
        return Release(cohort, name, Status.SUPPRESSED, reason="Suppressed: the cohort's size could not be "
                                                               "counted within the privacy budget.")
    decided = count.plan
    if decided is None or decided.size_bucket is None:
        return Release(cohort, name, Status.SUPPRESSED, reason=too_small(policy))
    ids = tuple(contributing)
    if over := budget.over(ids, decided.epsilon_total):
        return Release(cohort, name, Status.REFUSED, decided.size_bucket,
                       reason=refusal(over, policy.monthly_epsilon_cap))
    drawn = release_quantiles(list(contributing.values()), METRICS[name], decided.alphas, decided.epsilon_each)
    budget.charge(ids, drawn.epsilon_spent)
    return Release(cohort, name, Status.RELEASED, decided.size_bucket, drawn.quantiles, drawn.epsilon_spent, ids)
