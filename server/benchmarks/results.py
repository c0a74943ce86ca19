"""What the benchmarks service returns: typed, immutable, one shape for REST (msgspec) and GraphQL alike.

A seller only ever gets its own value and position; everything else here is a released statistic
(noisy quantiles, a size bucket) or a published parameter.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class Cohort(msgspec.Struct, frozen=True):
    category: str
    region: str  # a region, or "global": the category's fallback cohort
    label: str  # "Retail · Europe"
    size_bucket: str | None  # "500+", "100+"; None: too small to publish anything


class Quantiles(msgspec.Struct, frozen=True):
    p25: float | None
    p50: float | None
    p75: float | None


class Position(msgspec.Struct, frozen=True):
    """Where the seller stands, in percentile points: a point when low == high, else a band."""

    low: float
    high: float
    sentence: str


class HistoryPoint(msgspec.Struct, frozen=True):
    period: str
    quantiles: Quantiles | None  # None: nothing released that month
    value: float | None  # the seller's own value that month


class MetricBenchmark(msgspec.Struct, frozen=True):
    metric: str
    label: str
    description: str
    unit: str  # ratio | usd | growth
    higher_is_better: bool
    lower: float  # the clipping bounds every value is held to before release
    upper: float
    status: str  # released | suppressed | refused
    reason: str  # why nothing was released ("" when released)
    quantiles: Quantiles | None
    epsilon: float  # ε this release spent for each seller in it
    value: float | None  # the seller's own exact value; None: not defined for it this month
    position: Position | None
    history: list[HistoryPoint]  # this metric in the periods up to this one, oldest first


class PrivacyNote(msgspec.Struct, frozen=True):
    epsilon_spent: float  # by this seller, this period
    monthly_epsilon_cap: float
    k_quartiles: int
    k_median: int
    epsilon_count: float
    epsilon_per_quartile: float
    epsilon_median: float


class Benchmarks(msgspec.Struct, frozen=True):
    period: str  # YYYY-MM
    livemode: bool
    computed_at: datetime
    member: bool  # whether the seller's data was in this period's releases (it had payments)
    cohort: Cohort
    metrics: list[MetricBenchmark]
    privacy: PrivacyNote
    periods: list[str]  # every computed period, newest first


class BudgetEntry(msgspec.Struct, frozen=True):
    id: str
    period: str
    release: str  # the release it paid for
    description: str  # "Retail · Europe: conversion rate"
    status: str
    epsilon: float
    created: datetime


class PrivacyBudget(msgspec.Struct, frozen=True):
    period: str | None  # None: nothing released in this mode yet
    livemode: bool
    monthly_epsilon_cap: float
    spent: float
    remaining: float
    entries: list[BudgetEntry]
    periods: list[str]


class MetricBounds(msgspec.Struct, frozen=True):
    metric: str
    label: str
    description: str
    unit: str
    lower: float
    upper: float
    candidates: int  # how many values the private quantile chooses from (the metric's grid)


class PublishedPolicy(msgspec.Struct, frozen=True):
    k_quartiles: int
    k_median: int
    epsilon_count: float
    epsilon_per_quartile: float
    epsilon_median: float
    monthly_epsilon_cap: float
    metrics: list[MetricBounds]


def benchmarks_json(result: Benchmarks) -> dict:
    return {"object": "benchmarks", **msgspec.to_builtins(result)}


def budget_json(result: PrivacyBudget) -> dict:
    return {"object": "privacy_budget", **msgspec.to_builtins(result)}
