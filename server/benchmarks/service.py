"""Seller benchmarks: a closed month's releases computed once and stored; every read returns them.

- `compute_period(livemode, month, policy)`: reads every active seller's month (one exact value per
  metric, `values.py`), plans and draws the releases (`releases.py`), and stores releases, the
  sellers' own values and the privacy budget ledger in one transaction that first claims the
  period: a second computation of the same period is refused (409) and draws nothing.
- `release_due(settings)`: what the job runs: each of the last closed months not computed yet.
- `benchmarks(ctx, period)` / `privacy_budget(ctx, period)`: reads. They return the stored releases,
  the asking seller's own values and position (post-processing of released numbers: no spend) and
  its own ledger lines. Nothing read here is another seller's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from server import clock, db
from server.accounts.business import GLOBAL, category_label, normal_category, region_label, region_of
from server.analytics import follower
from server.analytics.figures import mid_rates
from server.benchmarks import mechanism, periods, queries
from server.benchmarks.metrics import METRICS, Metric, ReleasePolicy
from server.benchmarks.releases import COUNT, PeriodPlan, Seller, plan_period
from server.benchmarks.results import Benchmarks as BenchmarksResult
from server.benchmarks.results import (
    BudgetEntry,
    Cohort,
    HistoryPoint,
    MetricBenchmark,
    MetricBounds,
    Position,
    PrivacyBudget,
    PrivacyNote,
    PublishedPolicy,
    Quantiles,
)
from server.benchmarks.rows import BenchmarkPeriod, BenchmarkRelease, BenchmarkSellerValue
from server.benchmarks.values import USD, SellerMonth, values
from server.context import RequestContext, Scope
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.ids import new_id
from server.permissions import read
from server.settings import Settings, get_settings

log = logging.getLogger(__name__)

MONTHS_BACK = 3  # the job releases each of the last three closed months that is not released yet
HISTORY = 6  # periods shown in a metric's chart, up to the one asked for

RELEASE_COLUMNS = ("id", "livemode", "period", "category", "region", "kind", "status", "size_bucket", "p25", "p50",
                   "p75", "epsilon", "reason", "created")
VALUE_COLUMNS = ("account_id", "livemode", "period", "metric", "value", "release_id")
LEDGER_COLUMNS = ("account_id", "livemode", "period", "release_id", "epsilon", "created")


class WritingPastMonths(Conflict):
    """A bulk writer of past months holds the releases (`queries.holding_releases`): a month released now would
    be released without the sellers still to come, for good."""


@dataclass(frozen=True)
class ComputedPeriod:
    period: str
    livemode: bool
    sellers: int
    released: int  # metric releases with quantiles
    suppressed: int
    refused: int

    def __str__(self) -> str:
        mode = "live" if self.livemode else "test"
        return (f"{self.period} ({mode} mode): {self.sellers} sellers, {self.released} metric releases, "
                f"{self.suppressed} suppressed, {self.refused} refused")


# --- computing a period --------------------------------------------------------------------------


async def compute_period(livemode: bool, month: date, policy: ReleasePolicy, *,
                         now: datetime | None = None) -> ComputedPeriod:
    """Release `month` once; see the module docstring."""
    now = now or clock.now()
    name = periods.label(month)
    if periods.end(month) > now:
        raise InvalidRequest(f"{name} has not ended: a month's benchmarks are released once it has closed",
                             param="period")
    await follower.catch_up()  # every committed payment is in the rollups read below
    async with db.transaction():
        if not await queries.hold_releases_here():
            raise WritingPastMonths(f"past months are being written (the demo's first run): {name} is released "
                                    "once that is done", param="period")
        months = await month_inputs(livemode, month)
        sellers = [Seller(m.account_id, m.category, region_of(m.country), values(m)) for m in months]
        claimed = await queries.claim_period(BenchmarkPeriod(
            id=new_id("bmp"), livemode=livemode, period=month, policy=dataclasses.asdict(policy),
            computed_at=now))
        if not claimed:
            raise Conflict(f"the benchmarks of {name} ({'live' if livemode else 'test'} mode) were computed "
                           "already; a period is released once, so asking again spends and reveals nothing",
                           code=ErrorCode.BENCHMARK_PERIOD_RELEASED, param="period")
        plan = plan_period(sellers, policy, await queries.spent_in(livemode, month))
        await _store(livemode, month, plan, sellers, now)
    metric_releases = [r for r in plan.releases if r.kind != COUNT]
    return ComputedPeriod(name, livemode, len(sellers),
                          sum(1 for r in metric_releases if r.status == "released"),
                          sum(1 for r in metric_releases if r.status == "suppressed"),
                          sum(1 for r in plan.releases if r.status == "refused"))


async def month_inputs(livemode: bool, month: date) -> list[SellerMonth]:
    """Every seller active in `month` (it created a payment intent), with what its month holds."""
    start, end = periods.start(month), periods.end(month)
    found = {s.account_id: SellerMonth(s.account_id, s.category, s.country, created=s.created)
             for s in await queries.active_sellers(livemode, start, end)}
    for totals in await queries.currency_totals(livemode, start, end):
        if (seller := found.get(totals.account_id)) is not None:
            seller.confirmed += totals.attempts
            seller.succeeded += totals.succeeded
            seller.refunds += totals.refunds
            seller.gross[totals.currency] = int(totals.gross)
            seller.succeeded_in[totals.currency] = totals.succeeded
    for before in await queries.gross_volume(livemode, periods.start(periods.previous(month)), start):
        if (seller := found.get(before.account_id)) is not None:
            seller.previous_gross[before.currency] = int(before.gross)
    for disputes in await queries.dispute_counts(livemode, start, end):
        if (seller := found.get(disputes.account_id)) is not None:
            seller.disputed = disputes.disputed
    rates = defaultdict(list)
    for rate in await queries.usd_rates(livemode, list(found)):
        rates[rate.account_id].append(rate)
    for seller in found.values():
        seller.rates = mid_rates(rates[seller.account_id], USD)
    return list(found.values())


async def _store(livemode: bool, month: date, plan: PeriodPlan, sellers: Sequence[Seller], now: datetime) -> None:
    await queries.copy_rows("benchmark_releases", RELEASE_COLUMNS, [
        (r.id, livemode, month, r.cohort.category, r.cohort.region, r.kind, r.status.value, r.size_bucket,
         r.quantiles.get(0.25), r.quantiles.get(0.5), r.quantiles.get(0.75), r.epsilon, r.reason, now)
        for r in plan.releases])
    await queries.copy_rows("benchmark_seller_values", VALUE_COLUMNS, [
        (s.account_id, livemode, month, name, s.values[name],
         plan.metric_release[(plan.cohort_of[s.account_id].category, plan.cohort_of[s.account_id].region, name)].id)
        for s in sellers for name in METRICS])
    await queries.copy_rows("privacy_budget_ledger", LEDGER_COLUMNS, [
        (member, livemode, month, r.id, r.epsilon, now) for r in plan.releases for member in r.members])


async def release_due(settings: Settings, *, now: datetime | None = None) -> list[ComputedPeriod]:
    """Release each of the last closed months (ended at least the release delay ago) not released yet."""
    now = now or clock.now()
    policy = ReleasePolicy.from_settings(settings)
    done = []
    for livemode in (False, True):
        for month in periods.closed(now, timedelta(hours=settings.benchmark_release_delay_hours), MONTHS_BACK):
            if await queries.period(livemode, month) is not None:
                continue
            try:
                done.append(await compute_period(livemode, month, policy, now=now))
            except WritingPastMonths:
                log.info("benchmarks: past months are being written (the demo's first run); releasing later")
                return done
            except Conflict:
                continue  # another process released it meanwhile
            log.info("benchmarks released: %s", done[-1])
    return done


# --- reading ---------------------------------------------------------------------------------------


async def benchmarks(ctx: RequestContext, period: object = None) -> BenchmarksResult:
    """The seller's benchmarks of a released period (default: the latest)."""
    scope = ctx.require(read("benchmarks"))
    stored = await _released_period(scope.livemode, period)
    months = await queries.periods(scope.livemode, until=stored.period, limit=HISTORY)
    own = await queries.seller_values(scope, months)
    cohorts = await _cohorts(scope, months, own)
    releases = {(r.period, r.kind): r for r in await _releases_of(scope.livemode, cohorts)}
    mine = {(v.period, v.metric): v.value for v in own}
    cohort_release = releases.get((stored.period, COUNT))
    category, region = cohorts[stored.period]
    policy = ReleasePolicy(**stored.policy)
    return BenchmarksResult(
        period=periods.label(stored.period), livemode=scope.livemode, computed_at=stored.computed_at,
        member=any(v.period == stored.period for v in own),
        cohort=Cohort(category, region, cohort_label(category, region),
                      cohort_release.size_bucket if cohort_release else None),
        metrics=[_metric(metric, stored.period, months, releases, mine) for metric in METRICS.values()],
        privacy=PrivacyNote(await queries.spent_by(scope, stored.period), policy.monthly_epsilon_cap,
                            policy.k_quartiles, policy.k_median, policy.epsilon_count, policy.epsilon_per_quartile,
                            policy.epsilon_median),
        periods=[periods.label(m) for m in await queries.periods(scope.livemode)])


async def privacy_budget(ctx: RequestContext, period: object = None) -> PrivacyBudget:
    """What this account's data spent in a month (default: the latest released), release by release.

    A month without releases spent nothing: its ledger is empty, not missing.
    """
    scope = ctx.require(read("privacy_budget"))
    released = await queries.periods(scope.livemode)
    month = periods.parse(period) if period is not None else (released[0] if released else None)
    stored = await queries.period(scope.livemode, month) if month else None
    cap = float(stored.policy["monthly_epsilon_cap"]) if stored else get_settings().benchmark_monthly_epsilon_cap
    lines = await queries.budget_lines(scope, month) if month else []
    spent = sum(line.epsilon for line in lines)
    return PrivacyBudget(
        period=periods.label(month) if month else None, livemode=scope.livemode, monthly_epsilon_cap=cap,
        spent=spent, remaining=max(0.0, cap - spent),
        entries=[BudgetEntry(str(line.id), periods.label(line.period), line.release_id,
                             f"{cohort_label(line.category, line.region)}: {_kind_label(line.kind)}",
                             line.status, line.epsilon, line.created) for line in lines],
        periods=[periods.label(m) for m in released])


def policy(ctx: RequestContext) -> PublishedPolicy:
    """The parameters releases are made with now, and every metric's bounds: what Paydeck publishes."""
    ctx.require(read("benchmarks"))
    current = ReleasePolicy.from_settings(get_settings())
    return PublishedPolicy(
        k_quartiles=current.k_quartiles, k_median=current.k_median, epsilon_count=current.epsilon_count,
        epsilon_per_quartile=current.epsilon_per_quartile, epsilon_median=current.epsilon_median,
        monthly_epsilon_cap=current.monthly_epsilon_cap,
        metrics=[MetricBounds(m.name, m.label, m.description, m.unit, m.lower, m.upper, len(m.grid))
                 for m in METRICS.values()])


def cohort_label(category: str, region: str) -> str:
    return f"{category_label(category)} · {region_label(region)}"


def _kind_label(kind: str) -> str:
    return "cohort size (noisy count)" if kind == COUNT else METRICS[kind].label.lower()


async def _released_period(livemode: bool, period: object) -> BenchmarkPeriod:
    month = periods.parse(period) if period is not None else None
    if month is None:
        latest = await queries.periods(livemode, limit=1)
        if not latest:
            raise NotFound("no benchmarks have been released in this mode yet: a month's benchmarks are computed "
                           "once it has closed", code=ErrorCode.RESOURCE_MISSING)
        month = latest[0]
    stored = await queries.period(livemode, month)
    if stored is None:
        raise NotFound(f"no benchmarks were released for {periods.label(month)} in this mode: a month's "
                       "benchmarks are computed once it has closed", param="period")
    return stored


async def _cohorts(scope: Scope, months: Iterable[date], own: Sequence[BenchmarkSellerValue]
                   ) -> dict[date, tuple[str, str]]:
    """The cohort the seller was benchmarked in each month; by its settings where it was not in one."""
    by_release = {r.id: r for r in await queries.releases(scope.livemode, [v.release_id for v in own])}
    found = {v.period: (r.category, r.region) for v in own if (r := by_release.get(v.release_id)) is not None}
    settings = await queries.seller_settings(scope.account_id)
    for month in months:
        if month in found or settings is None:
            continue
        category, region = normal_category(settings.category), region_of(settings.country)
        regional = await queries.count_release(scope.livemode, month, category, region) if region else None
        found[month] = (category, region if region and regional and regional.size_bucket is not None else GLOBAL)
    return found


async def _releases_of(livemode: bool, cohorts: dict[date, tuple[str, str]]) -> list[BenchmarkRelease]:
    months_of: dict[tuple[str, str], list[date]] = defaultdict(list)
    for month, cohort in cohorts.items():
        months_of[cohort].append(month)
    found: list[BenchmarkRelease] = []
    for (category, region), months in months_of.items():
        found += await queries.releases_of_cohort(livemode, months, category, region)
    return found


def _quantiles(release: BenchmarkRelease | None) -> Quantiles | None:
    if release is None or release.status != "released":
        return None
    return Quantiles(release.p25, release.p50, release.p75)


def _metric(metric: Metric, month: date, months: Sequence[date], releases: dict[tuple[date, str], BenchmarkRelease],
            mine: dict[tuple[date, str], float | None]) -> MetricBenchmark:
    release = releases.get((month, metric.name))
    value = mine.get((month, metric.name))
    spot = None
    if release is not None and release.status == "released" and value is not None:
        where = mechanism.position(value, release.quantiles(), metric)
        spot = Position(where.low, where.high, where.sentence)
    return MetricBenchmark(
        metric=metric.name, label=metric.label, description=metric.description, unit=metric.unit,
        higher_is_better=metric.higher_is_better, lower=metric.lower, upper=metric.upper,
        status=release.status if release else "suppressed",
        reason=release.reason if release else "Nothing was released for this cohort in this period.",
        quantiles=_quantiles(release), epsilon=release.epsilon if release else 0.0, value=value, position=spot,
        history=[HistoryPoint(periods.label(m), _quantiles(releases.get((m, metric.name))), mine.get((m, metric.name)))
                 for m in sorted(months)])
