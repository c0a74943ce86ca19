"""The differentially private release mechanism behind seller benchmarks, built on OpenDP 0.16.

What it does, for one cohort, one metric and one period:

1. `clip` / `clipped`: each seller contributes exactly one value, clamped to the metric's
   published bounds (`server.benchmarks.metrics`). The clamp is OpenDP's own `make_clamp`,
   chained in front of the quantile, so it is inside what OpenDP's privacy map accounts for.
2. `release_count` and `plan_release`: the cohort's size is released with the discrete Laplace
   mechanism (`make_laplace` on an integer, sensitivity 1: adding or removing one seller changes
   the count by one). Only that noisy count decides what is released: "500+" gets p25/p50/p75,
   "100+" the median only, anything smaller is suppressed, so the decision itself leaks no
   more than its ε.
3. `release_quantiles`: each quantile is OpenDP's `make_private_quantile` (the exponential
   mechanism over the metric's fixed candidate grid, Smith 2011 scores) under pure ε-DP
   (`max_divergence`) with neighbouring cohorts differing by one seller
   (`symmetric_distance`, d_in = 1). The noise scale for a requested ε is found with
   `binary_search_param` and the ε actually spent is read back from OpenDP's privacy map, so
   the budget ledger records what OpenDP proves, not what we hoped. Released quartiles are
   then sorted (post-processing, free) so p25 <= p50 <= p75 always holds.
4. `position`: "you are at about the Nth percentile", from the seller's own exact value and the
   released quantiles only — post-processing of public output, spending nothing.
5. `rank_error` / `p95_rank_error`: accuracy in percentile points, for bench/.

**Randomness cannot be seeded.** OpenDP draws every sample from a thread-local CTR-DRBG
seeded from the operating system's entropy (`opendp::traits::samplers::fill_bytes`) and
exposes no seed: a reproducible mechanism would be a non-private one. Tests therefore check
privacy *empirically by frequency*: run the mechanism many times on a cohort and on its
neighbour, and check every output's frequency ratio against e^ε with a confidence bound wide
enough that a false failure is vanishingly rare (see tests/benchmarks/test_mechanism.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import opendp.prelude as dp

from server.benchmarks.metrics import DEFAULT_POLICY, Metric, ReleasePolicy

dp.enable_features("contrib")

QUARTILES = (0.25, 0.5, 0.75)
MEDIAN = (0.5,)


def clip(value: float, metric: Metric) -> float:
    """One seller's value clamped to the metric's bounds."""
    _require_number(value)
    return min(max(float(value), metric.lower), metric.upper)


def clipped(values: Sequence[float], metric: Metric) -> list[float]:
    """The cohort's values exactly as the quantile mechanism sees them (OpenDP's clamp)."""
    for value in values:
        _require_number(value)
    return list(_clamp(metric)([float(v) for v in values]))


def _require_number(value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"a seller's metric value is a number, not {value!r}")


@lru_cache(maxsize=64)
def _clamp(metric: Metric) -> dp.Transformation:
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    return dp.t.make_clamp(domain, dp.symmetric_distance(), bounds=(metric.lower, metric.upper))


@lru_cache(maxsize=512)
def quantile_measurement(metric: Metric, alpha: float, epsilon: float) -> dp.Measurement:
    """clamp >> private quantile at `alpha`, with the noise scale that spends at most `epsilon`."""
    if not 0 < alpha < 1 or not epsilon > 0:
        raise ValueError("alpha is in (0, 1) and epsilon is positive")
    candidates = sorted(metric.grid)

    def build(scale: float) -> dp.Measurement:
        return _clamp(metric) >> dp.m.then_private_quantile(
            dp.max_divergence(), candidates=candidates, alpha=alpha, scale=scale)

    return build(dp.binary_search_param(build, d_in=1, d_out=epsilon))


@lru_cache(maxsize=64)
def count_measurement(epsilon: float) -> dp.Measurement:
    """The discrete Laplace mechanism on a count (sensitivity 1), spending at most `epsilon`."""
    if not epsilon > 0:
        raise ValueError("epsilon is positive")

    def build(scale: float) -> dp.Measurement:
        return dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)

    return build(dp.binary_search_param(build, d_in=1, d_out=epsilon))


@dataclass(frozen=True)
class QuantileRelease:
    """Released quantiles (alpha -> value, sorted so they never cross) and the ε each seller spent."""

    quantiles: dict[float, float]
    epsilon_spent: float


def release_quantiles(values: Sequence[float], metric: Metric, alphas: Sequence[float],
                      epsilon_each: float) -> QuantileRelease:
    """One DP quantile per alpha over the cohort's clipped values; ε adds up across alphas."""
    for value in values:
        _require_number(value)
    data = [float(v) for v in values]
    measurements = [quantile_measurement(metric, alpha, epsilon_each) for alpha in alphas]
    answers = sorted(measurement(data) for measurement in measurements)
    spent = sum(measurement.map(1) for measurement in measurements)
    return QuantileRelease(dict(zip(sorted(alphas), answers, strict=True)), spent)


def release_count(size: int, epsilon: float) -> int:
    """The cohort size plus discrete Laplace noise of scale 1/ε (it can be negative)."""
    return count_measurement(epsilon)(int(size))


@dataclass(frozen=True)
class ReleasePlan:
    """What a cohort gets, decided from its noisy size only."""

    size_bucket: str | None  # "500+", "100+" with the default policy; None: suppressed
    alphas: tuple[float, ...]
    epsilon_each: float

    @property
    def epsilon_total(self) -> float:
        return self.epsilon_each * len(self.alphas)


def plan_release(noisy_size: int, policy: ReleasePolicy = DEFAULT_POLICY) -> ReleasePlan:
    if noisy_size >= policy.k_quartiles:
        return ReleasePlan(f"{policy.k_quartiles}+", QUARTILES, policy.epsilon_per_quartile)
    if noisy_size >= policy.k_median:
        return ReleasePlan(f"{policy.k_median}+", MEDIAN, policy.epsilon_median)
    return ReleasePlan(None, (), 0.0)


@dataclass(frozen=True)
class Position:
    """Where a seller stands, in percentile points: a point when low == high, else a band."""

    low: float
    high: float

    @property
    def sentence(self) -> str:
        if self.low == self.high:
            return f"You are at about the {_ordinal(self.low)} percentile."
        if self.low == 0:
            return f"You are below the {_ordinal(self.high)} percentile."
        if self.high == 100:
            return f"You are above the {_ordinal(self.low)} percentile."
        return f"You are between the {_ordinal(self.low)} and {_ordinal(self.high)} percentiles."


def position(value: float, released: Mapping[float, float], metric: Metric) -> Position:
    """The seller's percentile band from its own value and the released quantiles only.

    The value is clipped and rounded to the nearest grid candidate first: released quantiles
    are candidates, so "at the median" means "on the median's grid point".
    """
    if not released:
        raise ValueError("nothing was released for this metric")
    point = _nearest(clip(value, metric), metric.grid)
    at = [alpha for alpha, quantile in released.items() if quantile == point]
    if at:
        return Position(min(at) * 100, max(at) * 100)
    below = [alpha for alpha, quantile in released.items() if quantile < point]
    above = [alpha for alpha, quantile in released.items() if quantile > point]
    return Position(max(below, default=0.0) * 100, min(above, default=1.0) * 100)


def _nearest(value: float, grid: Sequence[float]) -> float:
    return min(grid, key=lambda candidate: (abs(candidate - value), candidate))


def _ordinal(points: float) -> str:
    n = round(points)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ------------------------------------------------------------------------------------ accuracy


def rank_error(values: Sequence[float], alpha: float, released: float) -> float:
    """How far, in percentile points, `released` is from being an alpha-quantile of `values`.

    Zero when the released value's rank range [share below, share at or below] contains alpha.
    """
    n = len(values)
    below = sum(1 for v in values if v < released) / n
    at_or_below = sum(1 for v in values if v <= released) / n
    if below <= alpha <= at_or_below:
        return 0.0
    return 100 * min(abs(alpha - below), abs(alpha - at_or_below))


def p95_rank_error(values: Sequence[float], metric: Metric, epsilon_each: float,
                   alphas: Sequence[float] = QUARTILES, trials: int = 200) -> float:
    """The 95th percentile of rank errors of released quantiles over repeated releases."""
    data = clipped(values, metric)
    errors = sorted(
        rank_error(data, alpha, answer)
        for _ in range(trials)
        for alpha, answer in release_quantiles(values, metric, alphas, epsilon_each).quantiles.items()
    )
    return errors[max(0, math.ceil(0.95 * len(errors)) - 1)]
