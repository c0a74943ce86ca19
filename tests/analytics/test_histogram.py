"""The latency histogram: quantiles within 1 % of the exact ones, and merging is exact."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.analytics.histogram import (
    BUCKETS,
    MAX_MS,
    MIN_MS,
    OVERFLOW,
    RELATIVE_ERROR,
    SPAN,
    bounds,
    bucket_of,
    from_dense,
    from_jsonb,
    from_rows,
    histogram_of,
    merge,
    quantile,
    record,
    representative,
    to_dense,
    to_jsonb,
)

latency = st.floats(min_value=MIN_MS, max_value=MAX_MS, exclude_max=True, allow_nan=False)
samples = st.lists(latency, min_size=1, max_size=400)
fraction = st.floats(min_value=0, max_value=1)


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@settings(max_examples=400, deadline=None)
@given(samples, fraction)
def test_quantile_is_within_one_percent_of_the_exact_quantile(values, q):
    estimate = quantile(histogram_of(values), q)
    exact = exact_quantile(values, q)
    assert abs(estimate - exact) <= 0.01 * exact


@settings(max_examples=200, deadline=None)
@given(st.lists(samples, min_size=1, max_size=6), fraction)
def test_merging_equals_the_histogram_of_all_samples(parts, q):
    merged = merge(*(histogram_of(part) for part in parts))
    everything = [value for part in parts for value in part]
    assert merged == histogram_of(everything)
    assert quantile(merged, q) == quantile(histogram_of(everything), q)
    assert abs(quantile(merged, q) - exact_quantile(everything, q)) <= 0.01 * exact_quantile(everything, q)


@settings(max_examples=200, deadline=None)
@given(st.lists(samples, min_size=1, max_size=4))
def test_dense_arrays_sum_elementwise_like_merge(parts):
    histograms = [histogram_of(part) for part in parts]
    summed = [sum(column) for column in zip(*(to_dense(h) for h in histograms), strict=True)]
    assert len(summed) == BUCKETS
    assert from_dense(summed) == merge(*histograms)


@given(samples)
def test_jsonb_and_rows_round_trip(values):
    histogram = histogram_of(values)
    stored = json.loads(json.dumps(to_jsonb(histogram)))
    assert from_jsonb(stored) == histogram
    assert from_rows((int(k), v) for k, v in stored.items()) == histogram


@given(latency)
def test_every_value_is_inside_its_bucket_and_near_its_representative(ms):
    index = bucket_of(ms)
    low, high = bounds(index)
    assert 1 <= index <= SPAN
    assert low * (1 - 1e-12) <= ms < high * (1 + 1e-12)
    assert abs(representative(index) - ms) <= RELATIVE_ERROR * ms * (1 + 1e-9)


def test_the_relative_error_bound_is_at_most_one_percent():
    assert RELATIVE_ERROR <= 0.01
    assert OVERFLOW == BUCKETS - 1
    for index in range(1, SPAN):
        assert bounds(index)[1] == pytest.approx(bounds(index + 1)[0], rel=1e-12)


def test_out_of_range_values_go_to_the_end_buckets():
    assert [bucket_of(ms) for ms in (0, 0.001, MIN_MS * 0.999)] == [0, 0, 0]
    assert [bucket_of(ms) for ms in (MAX_MS, MAX_MS * 10, math.inf)] == [OVERFLOW] * 3
    assert quantile(histogram_of([0, 0, 0]), 0.5) == MIN_MS
    assert quantile(histogram_of([MAX_MS * 2]), 0.99) == MAX_MS


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, -math.inf])
def test_negative_or_nan_latencies_are_refused(bad):
    with pytest.raises(ValueError):
        bucket_of(bad)


def test_quantiles_of_a_known_sample():
    values = list(range(1, 1001))  # 1..1000 ms
    histogram = histogram_of(values)
    for q, exact in [(0.0, 1), (0.5, 500), (0.95, 950), (0.99, 990), (1.0, 1000)]:
        assert quantile(histogram, q) == pytest.approx(exact, rel=0.01)
    assert quantile({}, 0.5) is None
    with pytest.raises(ValueError):
        quantile(histogram, 1.5)


def test_record_adds_counts():
    histogram = {}
    record(histogram, 12.0)
    record(histogram, 12.0, count=4)
    assert histogram == {bucket_of(12.0): 5}
