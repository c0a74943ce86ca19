"""A period's releases, planned in memory: cohorts, the fallback, suppression, the budget cap, one value per seller."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from server.accounts.business import GLOBAL, REGIONS
from server.benchmarks.metrics import DEFAULT_POLICY, METRICS, ReleasePolicy
from server.benchmarks.releases import COUNT, Seller, Status, plan_period

SMALL = ReleasePolicy(k_quartiles=60, epsilon_per_quartile=0.3, k_median=25, epsilon_median=0.9,
                      epsilon_count=2.0, monthly_epsilon_cap=100.0)


def sellers(n: int, category: str = "retail", region: str | None = "europe", prefix: str = "s",
            **values: float | None) -> list[Seller]:
    rng = random.Random(n)
    return [Seller(f"{prefix}{category}{region}{i}", category, region,
                   {name: values.get(name, rng.uniform(metric.lower, metric.upper))
                    for name, metric in METRICS.items()})
            for i in range(n)]


def releases_of(plan, category, region):
    return {r.kind: r for r in plan.releases if (r.cohort.category, r.cohort.region) == (category, region)}


def test_a_large_regional_cohort_gets_quartiles_a_middling_one_the_median():
    plan = plan_period(sellers(200, region="europe") + sellers(40, region="asia"), SMALL)
    europe, asia = releases_of(plan, "retail", "europe"), releases_of(plan, "retail", "asia")
    assert europe[COUNT].size_bucket == "60+"
    assert all(set(europe[m].quantiles) == {0.25, 0.5, 0.75} for m in METRICS)
    assert asia[COUNT].size_bucket == "25+"
    assert all(set(asia[m].quantiles) == {0.5} for m in METRICS)
    assert plan.cohort_of["sretaileurope0"].region == "europe"


def test_a_cohort_below_k_is_suppressed_and_its_sellers_fall_back_to_the_global_cohort():
    plan = plan_period(sellers(5, region="africa") + sellers(6, region="oceania") + sellers(200, region="europe"),
                       SMALL)
    africa = releases_of(plan, "retail", "africa")
    assert set(africa) == {COUNT}, "a regional cohort too small gets no metric release"
    assert africa[COUNT].size_bucket is None and "global cohort" in africa[COUNT].reason
    fallback = releases_of(plan, "retail", GLOBAL)
    assert fallback[COUNT].members == (), "the pooled regions were counted already: nobody pays again"
    assert fallback[COUNT].noisy is not None
    assert plan.cohort_of["sretailafrica0"].region == GLOBAL
    for name in METRICS:  # 11 sellers: far below k, whatever the noise
        assert fallback[name].status is Status.SUPPRESSED and not fallback[name].quantiles
        assert not fallback[name].members and "fewer than about 25 sellers" in fallback[name].reason


def test_the_fallback_pools_small_regions_into_a_release():
    plan = plan_period(sellers(15, region="africa") + sellers(15, region="asia") + sellers(15, region=None), SMALL)
    fallback = releases_of(plan, "retail", GLOBAL)
    assert fallback[COUNT].size_bucket == "25+"
    assert fallback["conversion_rate"].status is Status.RELEASED and len(fallback["conversion_rate"].members) == 45


def test_every_pair_is_counted_even_when_empty_so_existence_reveals_nothing():
    plan = plan_period([], SMALL)
    counts = [r for r in plan.releases if r.kind == COUNT]
    assert len(counts) == 14 * 7  # 14 categories x (6 regions + global)
    assert all(not r.members for r in plan.releases)


def test_each_seller_contributes_once_per_metric_and_spends_at_most_the_cap():
    population = sellers(300, region="europe") + sellers(30, region="asia") + sellers(10, region="africa")
    plan = plan_period(population, DEFAULT_POLICY)
    charged = Counter()
    spent = Counter()
    for release in plan.releases:
        for member in release.members:
            charged[(member, release.kind)] += 1
            spent[member] += release.epsilon
    assert max(charged[(s.account_id, m)] for s in population for m in METRICS) == 1
    assert max(spent.values()) <= DEFAULT_POLICY.monthly_epsilon_cap
    assert DEFAULT_POLICY.most_a_seller_spends() == pytest.approx(2.98)


def test_every_seller_is_counted_once_and_the_fallback_size_sums_its_regions_counts():
    population = sellers(15, region="africa") + sellers(12, region="asia") + sellers(9, region=None)
    plan = plan_period(population, SMALL)
    counted = Counter(m for r in plan.releases if r.kind == COUNT for m in r.members)
    assert set(counted) == {s.account_id for s in population} and set(counted.values()) == {1}
    fallback = releases_of(plan, "retail", GLOBAL)[COUNT]
    assert set(fallback.members) == {f"sretailNone{i}" for i in range(9)}, "only the unregioned are counted here"
    pooled = [releases_of(plan, "retail", region)[COUNT] for region in REGIONS]
    assert all(count.size_bucket is None for count in pooled), "every region is below k_median here"
    own = fallback.noisy - sum(count.noisy for count in pooled)
    assert abs(own - 9) <= 6, "what is left is the unregioned sellers' own noisy count (ε 2.0: scale 0.5)"


def test_undefined_values_leave_the_seller_out_of_that_metric_only():
    population = sellers(100, region="europe") + sellers(10, region="europe", prefix="new", volume_growth_mom=None)
    plan = plan_period(population, SMALL)
    europe = releases_of(plan, "retail", "europe")
    assert len(europe["volume_growth_mom"].members) == 100
    assert len(europe["conversion_rate"].members) == 110


def test_a_release_past_any_members_cap_is_refused_and_charges_nobody():
    # 2.0 (count) + 3 x 0.3 per metric: the first metric fits (2.9), the second would reach 3.8 > 3.5.
    tight = ReleasePolicy(k_quartiles=60, epsilon_per_quartile=0.3, k_median=25, epsilon_median=0.9,
                          epsilon_count=2.0, monthly_epsilon_cap=3.5)
    plan = plan_period(sellers(200, region="europe"), tight, spent={"sretaileurope7": 0.0})
    europe = releases_of(plan, "retail", "europe")
    first, second = list(METRICS)[:2]
    assert europe[first].status is Status.RELEASED
    refused = europe[second]
    assert refused.status is Status.REFUSED and not refused.quantiles and not refused.members
    assert "200 sellers past the monthly privacy budget of ε = 3.5" in refused.reason


def test_what_was_spent_before_counts_against_the_cap():
    capped = ReleasePolicy(k_quartiles=60, epsilon_per_quartile=0.3, k_median=25, epsilon_median=0.9,
                           epsilon_count=2.0, monthly_epsilon_cap=3.0)
    plan = plan_period(sellers(200, region="europe"), capped, spent={"sretaileurope3": 0.5})
    europe = releases_of(plan, "retail", "europe")
    assert europe[list(METRICS)[0]].status is Status.REFUSED
    assert "1 seller past" in europe[list(METRICS)[0]].reason


def test_a_refused_count_suppresses_the_cohort():
    broke = ReleasePolicy(k_quartiles=60, epsilon_per_quartile=0.3, k_median=25, epsilon_median=0.9,
                          epsilon_count=2.0, monthly_epsilon_cap=1.0)
    plan = plan_period(sellers(200, region="europe"), broke)
    europe = releases_of(plan, "retail", "europe")
    assert europe[COUNT].status is Status.REFUSED and not europe[COUNT].members
    fallback = releases_of(plan, "retail", GLOBAL)
    assert fallback[COUNT].status is Status.REFUSED and not fallback[COUNT].members
    assert "could not be counted" in fallback[COUNT].reason
    assert all(fallback[m].status is Status.SUPPRESSED for m in METRICS)
