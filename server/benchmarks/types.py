"""GraphQL types of seller benchmarks: released statistics, the seller's own value and position, its budget."""

from __future__ import annotations

from datetime import datetime

import strawberry

from server.benchmarks import results


@strawberry.type(description="The cohort a seller is compared with: sellers of its category in its region, or the "
                             "category's global fallback when the region is too small.")
class BenchmarkCohort:
    category: str = strawberry.field(description="Business category (the account setting).")
    region: str = strawberry.field(description="Region from the country (UN M.49), or `global`: the category's "
                                               "regions too small for a cohort of their own, pooled.")
    label: str = strawberry.field(description="For people: \"Retail · Europe\".")
    size_bucket: str | None = strawberry.field(description="How many sellers, as a bucket from a noisy count: "
                                                           "\"500+\", \"100+\"; null: too few to publish anything.")

    @classmethod
    def of(cls, cohort: results.Cohort) -> BenchmarkCohort:
        return cls(category=cohort.category, region=cohort.region, label=cohort.label,
                   size_bucket=cohort.size_bucket)


@strawberry.type(description="Released quantiles of a metric in a cohort (differentially private, drawn once).")
class BenchmarkQuantiles:
    p25: float | None = strawberry.field(description="First quartile; null when only the median was released.")
    p50: float | None = strawberry.field(description="Median.")
    p75: float | None = strawberry.field(description="Third quartile; null when only the median was released.")

    @classmethod
    def of(cls, quantiles: results.Quantiles | None) -> BenchmarkQuantiles | None:
        return None if quantiles is None else cls(p25=quantiles.p25, p50=quantiles.p50, p75=quantiles.p75)


@strawberry.type(description="Where the seller stands: from its own value and the released quantiles only.")
class BenchmarkPosition:
    low: float = strawberry.field(description="Lower end, in percentile points.")
    high: float = strawberry.field(description="Upper end, in percentile points (equal to `low`: at a quantile).")
    sentence: str = strawberry.field(description="\"You are between the 50th and 75th percentiles.\"")


@strawberry.type(description="One earlier period of a metric: the cohort's release and the seller's own value.")
class BenchmarkHistoryPoint:
    period: str = strawberry.field(description="YYYY-MM.")
    quantiles: BenchmarkQuantiles | None = strawberry.field(description="Null: nothing released that month.")
    value: float | None = strawberry.field(description="The seller's own value that month.")


@strawberry.type(description="One metric's benchmark for the seller.")
class MetricBenchmark:
    metric: str = strawberry.field(description="conversion_rate, authorization_rate, average_order_value_usd, "
                                               "refund_rate, dispute_rate or volume_growth_mom.")
    label: str = strawberry.field(description="For people.")
    description: str = strawberry.field(description="What the value is.")
    unit: str = strawberry.field(description="ratio (a share, 0–1), usd (dollars) or growth (a change, −1 = −100%).")
    higher_is_better: bool = strawberry.field(description="Whether a higher value is the better one.")
    lower: float = strawberry.field(description="Values below are clipped to this before release.")
    upper: float = strawberry.field(description="Values above are clipped to this before release.")
    status: str = strawberry.field(description="released, suppressed (cohort too small) or refused (budget).")
    reason: str = strawberry.field(description="Why nothing was released; empty when released.")
    quantiles: BenchmarkQuantiles | None = strawberry.field(description="The released quantiles.")
    epsilon: float = strawberry.field(description="ε this release spent for each seller in it.")
    value: float | None = strawberry.field(description="The seller's own exact value; null: not defined this month.")
    position: BenchmarkPosition | None = strawberry.field(description="Null when nothing was released or the "
                                                                      "seller has no value.")
    history: list[BenchmarkHistoryPoint] = strawberry.field(description="Up to six periods to this one, oldest "
                                                                        "first.")

    @classmethod
    def of(cls, m: results.MetricBenchmark) -> MetricBenchmark:
        return cls(metric=m.metric, label=m.label, description=m.description, unit=m.unit,
                   higher_is_better=m.higher_is_better, lower=m.lower, upper=m.upper, status=m.status,
                   reason=m.reason, quantiles=BenchmarkQuantiles.of(m.quantiles), epsilon=m.epsilon, value=m.value,
                   position=BenchmarkPosition(low=m.position.low, high=m.position.high,
                                              sentence=m.position.sentence) if m.position else None,
                   history=[BenchmarkHistoryPoint(period=h.period, quantiles=BenchmarkQuantiles.of(h.quantiles),
                                                  value=h.value) for h in m.history])


@strawberry.type(description="The published privacy parameters of a period and what it spent of this seller's "
                             "budget.")
class PrivacyNote:
    epsilon_spent: float = strawberry.field(description="ε this period's releases spent on this seller's data.")
    monthly_epsilon_cap: float = strawberry.field(description="The most any seller's data may spend in a month.")
    k_quartiles: int = strawberry.field(description="Cohorts of about this many sellers get p25, p50 and p75.")
    k_median: int = strawberry.field(description="Cohorts of about this many get the median; smaller ones nothing.")
    epsilon_count: float = strawberry.field(description="ε of the noisy count that sizes a cohort.")
    epsilon_per_quartile: float = strawberry.field(description="ε of each quartile of a large cohort.")
    epsilon_median: float = strawberry.field(description="ε of the median of a middling cohort.")


@strawberry.type(description="The seller's benchmarks for a released month.")
class Benchmarks:
    period: str = strawberry.field(description="YYYY-MM (UTC calendar month).")
    livemode: bool = strawberry.field(description="Live data (true) or test data.")
    computed_at: datetime = strawberry.field(description="When the period was released (once).")
    member: bool = strawberry.field(description="Whether the seller's data was in this period's releases.")
    cohort: BenchmarkCohort = strawberry.field(description="Whom the seller is compared with.")
    metrics: list[MetricBenchmark] = strawberry.field(description="One entry per metric.")
    privacy: PrivacyNote = strawberry.field(description="ε, k and this period's spend.")
    periods: list[str] = strawberry.field(description="Every released period of this mode, newest first.")

    @classmethod
    def of(cls, b: results.Benchmarks) -> Benchmarks:
        p = b.privacy
        return cls(period=b.period, livemode=b.livemode, computed_at=b.computed_at, member=b.member,
                   cohort=BenchmarkCohort.of(b.cohort), metrics=[MetricBenchmark.of(m) for m in b.metrics],
                   privacy=PrivacyNote(epsilon_spent=p.epsilon_spent, monthly_epsilon_cap=p.monthly_epsilon_cap,
                                       k_quartiles=p.k_quartiles, k_median=p.k_median, epsilon_count=p.epsilon_count,
                                       epsilon_per_quartile=p.epsilon_per_quartile, epsilon_median=p.epsilon_median),
                   periods=b.periods)


@strawberry.type(description="One entry of the privacy budget ledger: a release that used this account's data.")
class PrivacyBudgetEntry:
    id: str = strawberry.field(description="The ledger entry.")
    period: str = strawberry.field(description="YYYY-MM.")
    release: str = strawberry.field(description="The release (`bmr_…`).")
    description: str = strawberry.field(description="\"Retail · Europe: conversion rate\".")
    status: str = strawberry.field(description="The release's status.")
    epsilon: float = strawberry.field(description="ε spent.")
    created: datetime = strawberry.field(description="When.")


@strawberry.type(description="What the account's data spent in a month, release by release (append-only).")
class PrivacyBudget:
    period: str | None = strawberry.field(description="YYYY-MM; null when nothing was released in this mode yet.")
    livemode: bool = strawberry.field(description="Live data (true) or test data.")
    monthly_epsilon_cap: float = strawberry.field(description="The cap of the month.")
    spent: float = strawberry.field(description="ε spent in the month.")
    remaining: float = strawberry.field(description="What the cap leaves.")
    entries: list[PrivacyBudgetEntry] = strawberry.field(description="Oldest first.")
    periods: list[str] = strawberry.field(description="Every released period of this mode, newest first.")

    @classmethod
    def of(cls, b: results.PrivacyBudget) -> PrivacyBudget:
        return cls(period=b.period, livemode=b.livemode, monthly_epsilon_cap=b.monthly_epsilon_cap, spent=b.spent,
                   remaining=b.remaining, periods=b.periods,
                   entries=[PrivacyBudgetEntry(id=e.id, period=e.period, release=e.release,
                                               description=e.description, status=e.status, epsilon=e.epsilon,
                                               created=e.created) for e in b.entries])


@strawberry.type(description="A metric's published clipping bounds and candidate grid.")
class MetricBounds:
    metric: str = strawberry.field(description="The metric.")
    label: str = strawberry.field(description="For people.")
    description: str = strawberry.field(description="What the value is.")
    unit: str = strawberry.field(description="ratio, usd or growth.")
    lower: float = strawberry.field(description="Values below are clipped to this.")
    upper: float = strawberry.field(description="Values above are clipped to this.")
    candidates: int = strawberry.field(description="How many grid values a released quantile is chosen from.")


@strawberry.type(description="The privacy parameters releases are made with now, as published.")
class BenchmarkPolicy:
    k_quartiles: int = strawberry.field(description="Cohorts of about this many sellers (noisy count) get "
                                                    "p25, p50 and p75.")
    k_median: int = strawberry.field(description="Cohorts of about this many get the median; smaller ones nothing.")
    epsilon_count: float = strawberry.field(description="ε of the noisy cohort-size count.")
    epsilon_per_quartile: float = strawberry.field(description="ε of each quartile of a large cohort.")
    epsilon_median: float = strawberry.field(description="ε of the median of a middling cohort.")
    monthly_epsilon_cap: float = strawberry.field(description="The most any seller's data may spend in a month.")
    metrics: list[MetricBounds] = strawberry.field(description="Every metric's bounds and grid.")

    @classmethod
    def of(cls, p: results.PublishedPolicy) -> BenchmarkPolicy:
        return cls(k_quartiles=p.k_quartiles, k_median=p.k_median, epsilon_count=p.epsilon_count,
                   epsilon_per_quartile=p.epsilon_per_quartile, epsilon_median=p.epsilon_median,
                   monthly_epsilon_cap=p.monthly_epsilon_cap,
                   metrics=[MetricBounds(metric=m.metric, label=m.label, description=m.description, unit=m.unit,
                                         lower=m.lower, upper=m.upper, candidates=m.candidates) for m in p.metrics])
