"""The DP release mechanism: privacy checked empirically, clipping, the release plan, positions and accuracy.

OpenDP's randomness cannot be seeded (see server/benchmarks/mechanism.py), so the privacy tests
compare output frequencies over many runs. A check fails only when an output's frequency ratio
is above e^ε beyond a 5-sigma Wilson bound on both frequencies, so a correct mechanism fails it
with probability below 1e-4 per run, while the same samples must also refute a claim of ε/2:
the test would catch a mechanism twice as leaky as claimed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable

import pytest

from server.benchmarks.mechanism import (
    MEDIAN,
    QUARTILES,
    Position,
    clip,
    clipped,
    p95_rank_error,
    plan_release,
    position,
    quantile_measurement,
    rank_error,
    release_count,
    release_quantiles,
)
from server.benchmarks.metrics import DEFAULT_POLICY, METRICS, Metric, ReleasePolicy

Z = 5.0
COARSE = Metric("test_rate", "Test rate", "A coarse grid so frequencies are measurable.", 0.0, 1.0,
                tuple(i / 10 for i in range(11)), True, "ratio")
# A small cohort whose top seller is an outlier far beyond the bounds; its neighbour lacks that seller.
COHORT = [0.05, 0.12, 0.21, 0.33, 0.38, 0.44, 0.52, 0.58, 0.66, 0.71, 0.83, 1e6]
NEIGHBOUR = COHORT[:-1]


def wilson(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def provable_ratio(first: Counter, second: Counter, n: int) -> float:
    """The largest frequency ratio between the two runs that the samples establish beyond doubt."""
    ratios = []
    for output in set(first) | set(second):
        for a, b in ((first[output], second[output]), (second[output], first[output])):
            ratios.append(wilson(a, n)[0] / wilson(b, n)[1])
    return max(ratios)


def frequencies(release: Callable[[], Hashable], runs: int) -> Counter:
    return Counter(release() for _ in range(runs))


@pytest.mark.slow
def test_private_median_of_neighbouring_cohorts_stays_within_e_to_the_epsilon():
    epsilon, runs = 1.0, 8000
    with_outlier = frequencies(lambda: release_quantiles(COHORT, COARSE, MEDIAN, epsilon).quantiles[0.5], runs)
    without = frequencies(lambda: release_quantiles(NEIGHBOUR, COARSE, MEDIAN, epsilon).quantiles[0.5], runs)
    ratio = provable_ratio(with_outlier, without, runs)
    assert ratio <= math.exp(epsilon), (ratio, with_outlier, without)
    assert ratio > math.exp(epsilon / 2), "the samples can tell a mechanism twice as leaky"


@pytest.mark.slow
def test_private_count_of_neighbouring_cohorts_stays_within_e_to_the_epsilon():
    epsilon, runs = 1.0, 6000
    ratio = provable_ratio(frequencies(lambda: release_count(40, epsilon), runs),
                           frequencies(lambda: release_count(39, epsilon), runs), runs)
    assert math.exp(epsilon / 2) < ratio <= math.exp(epsilon)


def test_the_check_refuses_a_release_without_noise():
    def exact_median(values):
        ordered = sorted(clipped(values, COARSE))
        return min(COARSE.grid, key=lambda c: abs(c - ordered[len(ordered) // 2]))

    runs = 200
    ratio = provable_ratio(frequencies(lambda: exact_median(COHORT), runs),
                           frequencies(lambda: exact_median(NEIGHBOUR), runs), runs)
    assert ratio > math.exp(1.0)


def test_clipping_makes_an_outlier_the_same_as_a_seller_at_the_bound():
    metric = METRICS["refund_rate"]
    cohort = [0.01, 0.02, 0.05, 0.1]
    assert clipped([*cohort, 1e9], metric) == clipped([*cohort, metric.upper], metric)
    assert clipped([*cohort, -1e9], metric) == clipped([*cohort, metric.lower], metric)
    assert clipped([*cohort, 0.07], metric) == [*cohort, 0.07]
    assert (clip(1e9, metric), clip(-3, metric), clip(0.2, metric)) == (metric.upper, metric.lower, 0.2)


@pytest.mark.parametrize("bad", [math.nan, "0.5", None, True])
def test_values_that_are_not_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        clip(bad, COARSE)
    with pytest.raises(ValueError):
        release_quantiles([0.1, bad], COARSE, MEDIAN, 1.0)


def test_released_values_are_grid_candidates_in_order_and_epsilon_adds_up():
    metric = METRICS["average_order_value_usd"]
    cohort = [20 + i * 0.37 for i in range(600)]
    release = release_quantiles(cohort, metric, QUARTILES, 0.25)
    values = [release.quantiles[a] for a in QUARTILES]
    assert all(v in metric.grid for v in values)
    assert values == sorted(values)
    assert release.epsilon_spent == pytest.approx(0.75, rel=1e-6)
    assert release.epsilon_spent <= 0.75 + 1e-9
    assert quantile_measurement(metric, 0.5, 1.0).map(1) <= 1.0


PLANS = [
    (10_000, "500+", QUARTILES, 0.16),
    (500, "500+", QUARTILES, 0.16),
    (499, "100+", MEDIAN, 0.48),
    (100, "100+", MEDIAN, 0.48),
    (99, None, (), 0.0),
    (-3, None, (), 0.0),
]


@pytest.mark.parametrize(("noisy_size", "bucket", "alphas", "epsilon"), PLANS)
def test_release_plan_follows_the_noisy_size(noisy_size, bucket, alphas, epsilon):
    plan = plan_release(noisy_size)
    assert (plan.size_bucket, plan.alphas, plan.epsilon_each) == (bucket, alphas, epsilon)


def test_release_plan_follows_the_policy():
    policy = ReleasePolicy(k_quartiles=50, k_median=20, epsilon_per_quartile=0.1, epsilon_median=0.5,
                           epsilon_count=0.1, monthly_epsilon_cap=3.0)
    assert plan_release(60, policy).size_bucket == "50+"
    assert plan_release(60, policy).epsilon_total == pytest.approx(0.3)
    assert plan_release(25, policy).size_bucket == "20+"
    assert plan_release(19, policy).size_bucket is None
    assert DEFAULT_POLICY.monthly_epsilon_cap == 3.0


def test_the_default_policy_fits_a_whole_month_under_the_cap():
    """One count per seller and six metrics: 0.1 + 6 x 0.48 = 2.98 <= 3.0."""
    assert DEFAULT_POLICY.epsilon_count == 0.1
    assert 3 * DEFAULT_POLICY.epsilon_per_quartile == pytest.approx(DEFAULT_POLICY.epsilon_median) == 0.48
    assert DEFAULT_POLICY.most_a_seller_spends() == pytest.approx(2.98)
    assert DEFAULT_POLICY.most_a_seller_spends() <= DEFAULT_POLICY.monthly_epsilon_cap


QUARTILE_RELEASE = {0.25: 0.3, 0.5: 0.5, 0.75: 0.7}
COLLAPSED = {0.25: 0.5, 0.5: 0.5, 0.75: 0.7}

POSITIONS = [
    (0.1, QUARTILE_RELEASE, 0, 25, "You are below the 25th percentile."),
    (0.3, QUARTILE_RELEASE, 25, 25, "You are at about the 25th percentile."),
    (0.301, QUARTILE_RELEASE, 25, 25, "You are at about the 25th percentile."),
    (0.42, QUARTILE_RELEASE, 25, 50, "You are between the 25th and 50th percentiles."),
    (0.5, QUARTILE_RELEASE, 50, 50, "You are at about the 50th percentile."),
    (0.66, QUARTILE_RELEASE, 50, 75, "You are between the 50th and 75th percentiles."),
    (0.9, QUARTILE_RELEASE, 75, 100, "You are above the 75th percentile."),
    (7.0, QUARTILE_RELEASE, 75, 100, "You are above the 75th percentile."),
    (0.5, COLLAPSED, 25, 50, "You are between the 25th and 50th percentiles."),
    (0.2, {0.5: 0.4}, 0, 50, "You are below the 50th percentile."),
    (0.4, {0.5: 0.4}, 50, 50, "You are at about the 50th percentile."),
    (0.6, {0.5: 0.4}, 50, 100, "You are above the 50th percentile."),
]


@pytest.mark.parametrize(("value", "released", "low", "high", "sentence"), POSITIONS)
def test_position_comes_from_the_value_and_the_released_quantiles(value, released, low, high, sentence):
    spot = position(value, released, METRICS["conversion_rate"])
    assert (spot.low, spot.high, spot.sentence) == (low, high, sentence)


def test_position_needs_a_release():
    with pytest.raises(ValueError):
        position(0.5, {}, COARSE)
    assert Position(1, 1).sentence == "You are at about the 1st percentile."
    assert Position(0, 12).sentence == "You are below the 12th percentile."


RANK_ERRORS = [
    ([1, 2, 3, 4], 0.5, 2, 0.0),
    ([1, 2, 3, 4], 0.5, 3, 0.0),
    ([1, 2, 3, 4], 0.25, 4, 50.0),
    ([1, 2, 3, 4], 0.75, 0, 75.0),
    ([5, 5, 5, 5], 0.25, 5, 0.0),
    (list(range(100)), 0.5, 60, 10.0),
]


@pytest.mark.parametrize(("values", "alpha", "released", "points"), RANK_ERRORS)
def test_rank_error_in_percentile_points(values, alpha, released, points):
    assert rank_error(values, alpha, released) == pytest.approx(points)


def test_quartiles_of_a_large_cohort_are_accurate():
    metric = METRICS["conversion_rate"]
    cohort = [((i * 7919) % 1000) / 1000 * 0.6 + 0.1 for i in range(1000)]
    assert p95_rank_error(cohort, metric, DEFAULT_POLICY.epsilon_per_quartile, trials=20) <= 5.0


def test_every_metric_grid_spans_its_bounds_in_order():
    for metric in METRICS.values():
        assert metric.grid[0] == metric.lower and metric.grid[-1] == metric.upper, metric.name
        assert list(metric.grid) == sorted(set(metric.grid)), metric.name
        assert metric.description and metric.label
