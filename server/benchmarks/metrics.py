"""The benchmark metrics and the release policy, as data: bounds, candidate grids, ε, k and the budget.

Every differentially private release is only as good as two choices made *before* looking at
the data: where each seller's value is clipped (bounding how much one seller can move a
statistic) and which candidate values the private quantile may answer with. Both are fixed
here, per metric, and published with the benchmarks, so they are never tuned on the data
they protect. A seller's value outside the bounds is clipped to the nearest bound before any
release; a released quantile is always one of the grid's candidates.

| metric | value | bounds | grid |
|---|---|---|---|
| conversion_rate | succeeded ÷ created payment intents | 0 .. 1 | 101 points, step 0.01 |
| authorization_rate | succeeded ÷ confirmed | 0 .. 1 | 201 points, step 0.005 |
| average_order_value_usd | mean succeeded amount, USD | 1 .. 10,000 | 190 points, ×1.05 apart, cents |
| refund_rate | refunded ÷ succeeded payments | 0 .. 0.30 | 121 points, step 0.0025 |
| dispute_rate | disputed ÷ succeeded payments | 0 .. 0.05 | 201 points, step 0.00025 |
| volume_growth_mom | this month's volume ÷ last month's − 1 | −1 .. 3 | 201 points, step 0.02 |

Why these bounds: rates are fractions by definition, but refunds above 30 % or disputes above
5 % are already far outside healthy businesses (card networks act from about 1 %), so a finer
grid over the range that matters beats covering impossible values. Order values span four
orders of magnitude, so their grid is geometric: every step is 5 %, whether around 3 USD or
3,000 USD. Growth is clipped at −100 % (stopped trading) and +300 % (quadrupled).

`ReleasePolicy` holds every other parameter of a release; their defaults are settings
(`PAYDECK_BENCHMARK_*`, docs/benchmarks.md explains why they differ from issue 13's).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from server.settings import Settings


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    lower: float
    upper: float
    grid: tuple[float, ...]
    higher_is_better: bool
    unit: str  # "ratio" (0..1 shown as %), "usd", or "growth" (a change shown as %)


@dataclass(frozen=True)
class ReleasePolicy:
    """Who gets what, at which privacy cost; ε are per seller. The defaults are the settings'
    (`server/settings.py`, `PAYDECK_BENCHMARK_*`): the one place every parameter is set."""

    k_quartiles: int  # a cohort this large (by DP count) gets p25, p50 and p75 ...
    epsilon_per_quartile: float
    k_median: int  # ... this large the median only; smaller cohorts are suppressed
    epsilon_median: float
    epsilon_count: float  # the DP cohort-size count deciding the above, once per cohort and period
    monthly_epsilon_cap: float  # per seller, across every release of a period

    @classmethod
    def from_settings(cls, settings: Settings) -> ReleasePolicy:
        return cls(k_quartiles=settings.benchmark_k_quartiles,
                   epsilon_per_quartile=settings.benchmark_epsilon_per_quartile,
                   k_median=settings.benchmark_k_median, epsilon_median=settings.benchmark_epsilon_median,
                   epsilon_count=settings.benchmark_epsilon_count,
                   monthly_epsilon_cap=settings.benchmark_monthly_epsilon_cap)

    def most_a_seller_spends(self) -> float:
        """A period's worst case for one seller: the one count it is in, and every metric."""
        per_metric = max(3 * self.epsilon_per_quartile, self.epsilon_median)
        return self.epsilon_count + len(METRICS) * per_metric


DEFAULT_POLICY = ReleasePolicy.from_settings(Settings.model_construct())


def _linear(lower: float, upper: float, step: float) -> tuple[float, ...]:
    count = round((upper - lower) / step)
    return tuple(round(lower + i * step, 10) for i in range(count + 1))


def _geometric(lower: float, upper: float, ratio: float) -> tuple[float, ...]:
    points, value = [], lower
    while value < upper:
        points.append(round(value, 2))
        value *= ratio
    points.append(upper)
    return tuple(sorted(set(points)))


_METRICS = (
    Metric("conversion_rate", "Conversion rate", "Payment intents that succeeded, of those created.",
           0.0, 1.0, _linear(0.0, 1.0, 0.01), True, "ratio"),
    Metric("authorization_rate", "Authorization rate", "Confirmed payments that the issuer authorized.",
           0.0, 1.0, _linear(0.0, 1.0, 0.005), True, "ratio"),
    Metric("average_order_value_usd", "Average order value", "Mean successful payment amount, in US dollars.",
           1.0, 10_000.0, _geometric(1.0, 10_000.0, 1.05), True, "usd"),
    Metric("refund_rate", "Refund rate", "Successful payments that were refunded.",
           0.0, 0.30, _linear(0.0, 0.30, 0.0025), False, "ratio"),
    Metric("dispute_rate", "Dispute rate", "Successful payments that were disputed.",
           0.0, 0.05, _linear(0.0, 0.05, 0.00025), False, "ratio"),
    Metric("volume_growth_mom", "Volume growth", "Change in payment volume against the previous month.",
           -1.0, 3.0, _linear(-1.0, 3.0, 0.02), True, "growth"),
)

METRICS: MappingProxyType[str, Metric] = MappingProxyType({metric.name: metric for metric in _METRICS})
