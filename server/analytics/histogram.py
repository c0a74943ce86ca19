"""A mergeable latency histogram with fixed log-spaced buckets: p50/p95/p99 within 1 % at any scale.

Why this shape: API latency percentiles must come from rollups (15-minute buckets per endpoint
group and per key) that are summed over any range and any grouping. Percentiles of parts cannot
be combined, but counts can: if every histogram uses the *same fixed buckets*, merging is adding
counts bucket by bucket, which is exact, associative and order-free, so a day's p99 is computed
from 96 quarter-hour rows as if from the raw requests.

The buckets grow geometrically by GAMMA = 1.02 from MIN_MS = 0.01 ms to MAX_MS = 10 minutes:

- bucket 0 holds everything below 0.01 ms (reported as MIN_MS);
- bucket i (1..SPAN) holds [MIN_MS * GAMMA**(i-1), MIN_MS * GAMMA**i);
- bucket SPAN + 1 holds 10 minutes and more (reported as MAX_MS).

A bucket is reported as the harmonic mean of its bounds, 2·lo·hi / (lo + hi), whose relative
distance to any value in the bucket is at most (GAMMA - 1) / (GAMMA + 1) ≈ 0.99 %. `quantile`
uses the nearest-rank definition (the ceil(q·n)-th smallest sample), so its answer is within
0.99 % of the exact nearest-rank quantile of the samples recorded (inside 0.01 ms .. 10 min).

In memory a histogram is a sparse `{bucket index: count}` dict. `to_dense` / `from_dense` give
the fixed-length array of BUCKETS integers when one is wanted.

**Recommended SQL representation: a sparse `jsonb` object** `{"412": 3, "415": 17}` in the rollup
row. Latencies of one endpoint group cluster within two or three orders of magnitude (a few
hundred buckets at most, usually a few dozen per quarter hour), so the sparse form is a fraction
of the dense array's 907 integers, and merging needs no extension and no custom aggregate:

    -- merge any set of rollup rows
    SELECT key::int AS bucket, sum(value::bigint) AS count
      FROM api_rollups, jsonb_each_text(latency)
     WHERE account_id = $1 AND livemode = $2 AND bucket_start >= $3 AND bucket_start < $4
     GROUP BY key::int;

    -- add a batch `$5` (a jsonb of the same shape) to a row inside the upsert
    latency = (SELECT jsonb_object_agg(key, total) FROM (
                 SELECT key, sum(value::bigint) AS total
                   FROM (SELECT * FROM jsonb_each_text(api_rollups.latency)
                         UNION ALL SELECT * FROM jsonb_each_text($5)) AS both_sides
                  GROUP BY key) AS merged)

Read the merged rows with `from_rows`, then call `quantile`. (A dense `int8[]` with a custom
elementwise-sum aggregate also works, but the aggregate's state function runs per row in
PL/pgSQL or SQL, and every row stores 907 integers.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

GAMMA = 1.02
MIN_MS = 0.01
MAX_MS = 600_000.0
SPAN = math.ceil(math.log(MAX_MS / MIN_MS) / math.log(GAMMA))  # log-spaced buckets between MIN and MAX
BUCKETS = SPAN + 2  # plus the underflow and overflow buckets
OVERFLOW = SPAN + 1
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)

Histogram = dict[int, int]

_LOG_GAMMA = math.log(GAMMA)


def bucket_of(ms: float) -> int:
    """The bucket index of a latency in milliseconds."""
    if not ms >= 0:  # also refuses NaN
        raise ValueError(f"a latency is a non-negative number of milliseconds, not {ms!r}")
    if ms < MIN_MS:
        return 0
    if ms >= MAX_MS:
        return OVERFLOW
    return min(SPAN, max(1, 1 + math.floor(math.log(ms / MIN_MS) / _LOG_GAMMA)))


def bounds(index: int) -> tuple[float, float]:
    """The [low, high) milliseconds a bucket covers."""
    if index == 0:
        return 0.0, MIN_MS
    if index == OVERFLOW:
        return MAX_MS, math.inf
    if not 0 < index < OVERFLOW:
        raise ValueError(f"no bucket {index}; buckets are 0..{OVERFLOW}")
    return MIN_MS * GAMMA ** (index - 1), min(MAX_MS, MIN_MS * GAMMA**index)


def representative(index: int) -> float:
    """The value reported for a bucket: within RELATIVE_ERROR of everything inside it."""
    if index == 0:
        return MIN_MS
    if index == OVERFLOW:
        return MAX_MS
    low, high = bounds(index)
    return 2 * low * high / (low + high)


def histogram_of(latencies_ms: Iterable[float]) -> Histogram:
    histogram: Histogram = {}
    for ms in latencies_ms:
        record(histogram, ms)
    return histogram


def record(histogram: Histogram, ms: float, count: int = 1) -> None:
    index = bucket_of(ms)
    histogram[index] = histogram.get(index, 0) + count


def merge(*histograms: Mapping[int, int]) -> Histogram:
    """Bucket-wise sum: the histogram of all the samples behind the inputs."""
    merged: Histogram = {}
    for histogram in histograms:
        for index, count in histogram.items():
            if count:
                merged[index] = merged.get(index, 0) + count
    return merged


def total(histogram: Mapping[int, int]) -> int:
    return sum(histogram.values())


def quantile(histogram: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile (0 <= q <= 1) in milliseconds, or None for an empty histogram."""
    if not 0 <= q <= 1:
        raise ValueError(f"a quantile is between 0 and 1, not {q!r}")
    n = total(histogram)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return representative(index)
    raise AssertionError("unreachable: the ranks add up to the total")


def to_dense(histogram: Mapping[int, int]) -> list[int]:
    dense = [0] * BUCKETS
    for index, count in histogram.items():
        dense[index] += count
    return dense


def from_dense(dense: Iterable[int]) -> Histogram:
    return {index: count for index, count in enumerate(dense) if count}


def to_jsonb(histogram: Mapping[int, int]) -> dict[str, int]:
    """The sparse form stored in a `jsonb` column (JSON object keys are strings)."""
    return {str(index): count for index, count in sorted(histogram.items()) if count}


def from_jsonb(stored: Mapping[str, Any]) -> Histogram:
    return {int(index): int(count) for index, count in stored.items() if int(count)}


def from_rows(rows: Iterable[tuple[int, int]]) -> Histogram:
    """From `(bucket, count)` rows, e.g. the merge query in this module's docstring."""
    histogram: Histogram = {}
    for bucket, count in rows:
        if count:
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + int(count)
    return histogram
