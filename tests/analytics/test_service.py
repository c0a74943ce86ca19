"""The analytics service: local intervals on DST days and in +05:45, exact day boundaries, freshness,
64-bit sums, FX conversion, comparisons, API usage, permissions and scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from server.analytics import backfill, service
from server.analytics.history import Payment
from server.context import Principal, RequestContext, Scope
from server.errors import InvalidRequest, PermissionDenied
from server.ledger import fx
from server.ledger.money import MAX_AMOUNT
from server.permissions import Role
from tests.analytics.helpers import caught_up, differences
from tests.factories import gql, new_account, user_ctx
from tests.payments.helpers import Merchant
from tests.support import eventually


async def _owner(**settings) -> tuple[RequestContext, Scope]:
    account = await new_account(**settings)
    ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER)
    return ctx, Scope(account.account["id"], False)


def _local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def _gross(point) -> int:
    return point.values["gross_volume"].value


@pytest.mark.parametrize(("zone", "spring", "fall", "twice"), [
    ("America/New_York", (2026, 3, 8), (2026, 11, 1), 1),  # 01:00-02:00 happens twice on 1 November
    ("Europe/Berlin", (2026, 3, 29), (2026, 10, 25), 2),  # 02:00-03:00 on 25 October
])
async def test_days_and_hours_are_local_on_dst_days(server, zone, spring, fall, twice):
    ctx, scope = await _owner()
    payments = []
    for day, bits in ((spring, 0), (fall, 5)):
        d = datetime(*day)
        before, after = d - timedelta(days=1), d + timedelta(days=1)
        payments += [
            Payment(_local(zone, before.year, before.month, before.day, 23, 59, 59, 999_000), 1 << bits, "USD"),
            Payment(_local(zone, *day, 0, 0, 0), 2 << bits, "USD"),  # the day's first instant
            Payment(_local(zone, *day, 23, 59, 59, 999_000), 4 << bits, "USD"),  # its last millisecond
            Payment(_local(zone, after.year, after.month, after.day, 0, 0, 0), 8 << bits, "USD"),
        ]
    # The repeated half hour, second time round (fold=1): an hour after the first, the same local day.
    payments.append(Payment(_local(zone, *fall, twice, 30, fold=1), 1 << 20, "USD"))
    await backfill.write_payments(scope, payments)

    for day, bits, hours in ((spring, 0, 23), (fall, 5, 25)):
        start, end = _local(zone, *day) - timedelta(days=1), _local(zone, *day) + timedelta(days=2)
        daily = await service.timeseries(ctx, start, end, interval="day", timezone=zone, metrics=["gross_volume"])
        extra = (1 << 20) if day == fall else 0
        assert [_gross(p) for p in daily.points] == [1 << bits, (2 << bits) + (4 << bits) + extra, 8 << bits]
        assert [p.end - p.start for p in daily.points][1] == timedelta(hours=hours)

        day_start = _local(zone, *day).astimezone(UTC)  # UTC: adding hours to a zoned time would add wall-clock hours
        hourly = await service.timeseries(ctx, day_start, day_start + timedelta(hours=hours), interval="hour",
                                          timezone=zone, metrics=["gross_volume"])
        assert len(hourly.points) == hours
        assert all(p.end - p.start == timedelta(hours=1) for p in hourly.points)
        local_hours = [p.start.astimezone(ZoneInfo(zone)).hour for p in hourly.points]
        assert len(set(local_hours)) == (24 if day == fall else 23)  # one hour repeated, or one skipped
        if day == fall:
            assert local_hours.count(twice) == 2 and _gross(hourly.points[twice + 1]) == 1 << 20
        assert sum(_gross(p) for p in hourly.points) == (2 << bits) + (4 << bits) + extra
    assert await differences(scope.account_id, since=datetime(2026, 3, 1, tzinfo=UTC)) == []


async def test_a_quarter_to_six_offset_is_bucketed_exactly(server):
    zone = "Asia/Kathmandu"  # +05:45
    ctx, scope = await _owner(timezone=zone)
    await backfill.write_payments(scope, [
        Payment(_local(zone, 2026, 6, 10, 23, 59, 59, 999_000), 100, "USD"),  # the last millisecond of the 10th
        Payment(_local(zone, 2026, 6, 11, 0, 0, 0), 200, "USD"),
        Payment(_local(zone, 2026, 6, 11, 10, 59, 59, 999_000), 400, "USD"),
        Payment(_local(zone, 2026, 6, 11, 11, 0, 0), 800, "USD"),
    ])
    start = _local(zone, 2026, 6, 10)
    daily = await service.timeseries(ctx, start, start + timedelta(days=2), interval="day", metrics=["gross_volume"])
    assert daily.timezone == zone  # the account's zone by default
    assert [_gross(p) for p in daily.points] == [100, 1400]
    assert daily.points[1].start == datetime(2026, 6, 10, 18, 15, tzinfo=UTC)
    hourly = await service.timeseries(ctx, _local(zone, 2026, 6, 11, 10), _local(zone, 2026, 6, 11, 12),
                                      interval="hour", metrics=["gross_volume"])
    assert [(p.start.minute, _gross(p)) for p in hourly.points] == [(15, 400), (15, 800)]
    utc_days = await service.timeseries(ctx, datetime(2026, 6, 10, tzinfo=UTC), datetime(2026, 6, 12, tzinfo=UTC),
                                        interval="day", timezone="UTC", metrics=["gross_volume"])
    assert [_gross(p) for p in utc_days.points] == [300, 1200]  # 18:14:59.999 and 18:15 UTC on the 10th, then the 11th


async def test_a_payment_made_through_the_api_is_in_the_summary_within_five_seconds(http):
    account = await new_account()
    ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER)
    merchant = Merchant(http, account)
    start = datetime.now(UTC) - timedelta(hours=1)

    async def paid_count() -> int:
        summary = await service.summary(ctx, start, datetime.now(UTC))
        return summary.metric("successful_payments").current.value

    assert await paid_count() == 0
    await merchant.paid(4_200)
    await eventually(paid_count, timeout=5, message="the payment in the analytics summary")


async def test_amounts_beyond_53_bits_sum_exactly(http):
    account = await new_account()
    ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER)
    scope = Scope(account.account["id"], False)
    week_ago = datetime.now(UTC) - timedelta(days=7)
    await backfill.write_payments(scope, [Payment(week_ago + timedelta(minutes=i), MAX_AMOUNT, "USD")
                                          for i in range(100)])
    await Merchant(http, account).paid(MAX_AMOUNT - 1)  # and one through the API, counted by the follower
    await caught_up()
    summary = await service.summary(ctx, week_ago - timedelta(days=1), datetime.now(UTC))
    gross = summary.metric("gross_volume").current
    assert gross.value == gross.by_currency["USD"] == 101 * MAX_AMOUNT - 1
    assert isinstance(gross.value, int) and gross.value > 2**53
    assert summary.metric("average_order_value").current.value == (101 * MAX_AMOUNT - 1 + 50) // 101
    found = await differences(scope.account_id, since=week_ago - timedelta(days=1))
    assert found == [], "\n".join(found)


async def test_amounts_are_converted_at_the_rates_set_now_and_a_missing_rate_is_reported(server):
    ctx, scope = await _owner(default_currency="USD")
    await fx.set_rate(ctx, "EUR", "USD", "1.1", 150)  # the spread is for customers' conversions, not analytics
    await fx.set_rate(ctx, "USD", "JPY", "150", 0)  # only the other way round: its inverse applies
    at = datetime.now(UTC) - timedelta(days=2)
    await backfill.write_payments(scope, [Payment(at, 1_005, "EUR"), Payment(at, 3_000, "JPY"),
                                          Payment(at, 777, "KWD"), Payment(at, 10_000, "USD")])
    summary = await service.summary(ctx, at - timedelta(hours=1), at + timedelta(hours=1))
    gross = summary.metric("gross_volume").current
    assert gross.by_currency == {"EUR": 1_005, "JPY": 3_000, "KWD": 777, "USD": 10_000}
    eur = (Decimal(1_005) * Decimal("1.1")).quantize(Decimal(1))  # 1105.5 -> 1106 (half to even)
    jpy = (Decimal(3_000) / 150 * 100).quantize(Decimal(1))  # ¥3000 = $20.00
    assert gross.value == 10_000 + int(eur) + int(jpy)
    assert summary.unconverted_currencies == ["KWD"]
    assert summary.metric("successful_payments").current.value == 4  # counts need no rate
    in_eur = await service.summary(ctx, at - timedelta(hours=1), at + timedelta(hours=1), currency="eur")
    assert in_eur.currency == "EUR" and in_eur.metric("gross_volume").current.value == int(
        (Decimal(10_000) / Decimal("1.1")).quantize(Decimal(1))) + 1_005
    assert in_eur.unconverted_currencies == ["JPY", "KWD"]


async def test_each_range_is_compared_with_the_one_before_and_a_year_before(server):
    zone = "Europe/Berlin"
    ctx, scope = await _owner(timezone=zone)
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    last_year = today.replace(year=today.year - 1)
    await backfill.write_payments(scope, [
        Payment(last_year + timedelta(hours=1), 5_000, "USD"),
        # yesterday 00:02 and 00:03: inside "yesterday up to the same time" whenever the test runs (it compares
        # at least the first 15 minutes; at 01:00 a run in the day's first hour missed them)
        Payment(today - timedelta(days=1, minutes=-2), 1_000, "USD"),
        Payment(today - timedelta(days=1, minutes=-3), 3_000, "USD", "failed", decline_code="insufficient_funds"),
        Payment(today + timedelta(minutes=1), 2_000, "USD"),
    ], now=today + timedelta(minutes=5))
    now = max(datetime.now(UTC), today + timedelta(minutes=15))
    summary = await service.summary(ctx, today, now)
    assert summary.comparison.start == today - timedelta(days=1)  # today so far vs yesterday up to the same time
    gross = summary.metric("gross_volume")
    assert (gross.current.value, gross.previous.value, gross.change, gross.difference) == (2_000, 1_000, 1.0, 1_000)
    rate = summary.metric("success_rate")
    assert (rate.current.value, rate.previous.value) == (1.0, 0.5)
    yearly = await service.summary(ctx, today, today + timedelta(days=1), compare="previous_year")
    assert yearly.comparison.start == last_year
    assert yearly.metric("gross_volume").previous.value == 5_000
    codes = await service.top_codes(ctx, today - timedelta(days=1), today)
    assert [(c.code, c.count, c.share) for c in codes.codes] == [("insufficient_funds", 1, 1.0)]


async def test_api_usage_per_endpoint_group_with_latency_and_error_codes(http):
    account = await new_account()
    ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER)
    merchant = Merchant(http, account)
    start = datetime.now(UTC) - timedelta(minutes=1)
    for _ in range(3):
        await merchant.paid(1_000)
    for _ in range(2):
        assert (await merchant.post("/v1/payment_intents", {"amount": "lots", "currency": "usd"})).status_code == 400
    await caught_up()
    end = datetime.now(UTC) + timedelta(minutes=1)
    usage = await service.api_breakdown(ctx, start, end)
    groups = {g.group: g.current for g in usage.groups}
    assert groups["POST /v1/payment_intents"].requests == 5 and groups["POST /v1/payment_intents"].errors == 2
    confirm = groups["POST /v1/payment_intents/{id}/confirm"]
    assert confirm.requests == 3 and confirm.errors == 0 and 0 < confirm.p50 <= confirm.p95 <= confirm.p99
    by_key = await service.api_breakdown(ctx, start, end, group_by="api_key", compare=None)
    assert [g.current.requests for g in by_key.groups] == [8]
    errors = await service.top_codes(ctx, start, end, kind="error")
    assert errors.total == 2 and errors.codes[0].count == 2
    summary = await service.summary(ctx, start, end)
    assert summary.metric("api_requests").current.value == 8
    assert summary.metric("api_error_rate").current.value == 2 / 8
    series = await service.timeseries(ctx, start, end, interval="hour", metrics=["api_requests", "api_latency_p95"],
                                      endpoint="POST /v1/payment_intents/{id}/confirm")
    assert sum(p.values["api_requests"].value for p in series.points) == 3


async def test_a_summary_computes_the_metrics_its_caller_names(http):
    """Home shows four payment figures: its summary must not read the API's latency histograms, and a GraphQL
    selection gets exactly what it names, through fragments and variables, or every figure for `metrics`."""
    account = await new_account()
    merchant = Merchant(http, account)
    start = datetime.now(UTC) - timedelta(minutes=1)
    await merchant.paid(1_500)
    await caught_up()
    end = datetime.now(UTC) + timedelta(minutes=1)
    ctx = user_ctx(account.account["id"], account.user["id"], Role.OWNER)
    few = await service.summary(ctx, start, end, only={"gross_volume", "successful_payments"})
    assert [m.metric for m in few.metrics] == ["gross_volume", "successful_payments"]
    everything = await service.summary(ctx, start, end)
    assert few.metric("gross_volume") == everything.metric("gross_volume")
    assert len(everything.metrics) > 10

    window = {"start": start.isoformat(), "end": end.isoformat()}
    query = """query($start: DateTime!, $end: DateTime!, $name: String!) { analytics {
      summary(start: $start, end: $end) { ...Asked paid: metric(name: "successful_payments") { current { value } } } } }
      fragment Asked on AnalyticsSummary { api: metric(name: $name) { current { value } } }"""
    body = await gql(http, query, {**window, "name": "api_requests"}, merchant.headers)
    summary = body["data"]["analytics"]["summary"]
    assert summary["paid"]["current"]["value"] == 1
    assert summary["api"]["current"]["value"] >= 2  # the create and the confirm: the API's sums were read
    listed = await gql(http, """query($start: DateTime!, $end: DateTime!) { analytics { summary(start: $start,
      end: $end) { ... on AnalyticsSummary { metrics { metric } } } } }""", window, merchant.headers)
    assert [m["metric"] for m in listed["data"]["analytics"]["summary"]["metrics"]] == [
        m.metric for m in everything.metrics]


async def test_analytics_need_view_analytics_and_see_one_account_and_mode(http):
    account = await new_account()
    other = await new_account()
    await Merchant(http, other).paid(9_999)
    merchant = Merchant(http, account)
    await merchant.paid(1_234)
    await caught_up()
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1)
    account_id, user_id = account.account["id"], account.user["id"]
    for role in (Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.ANALYST, Role.VIEW_ONLY):
        summary = await service.summary(user_ctx(account_id, user_id, role), start, end)
        assert summary.metric("gross_volume").current.by_currency == {"USD": 1_234}
    with pytest.raises(PermissionDenied):
        await service.summary(user_ctx(account_id, user_id, Role.SUPPORT), start, end)
    live = await service.summary(user_ctx(account_id, user_id, Role.OWNER, livemode=True), start, end)
    assert live.metric("gross_volume").current.value == 0
    scope = Scope(account_id, False)
    restricted = RequestContext(principal=Principal(kind="api_key", key_id="key_x", key_kind="restricted",
                                                    key_rights={"payment_intents": "write"}), scope_=scope)
    with pytest.raises(PermissionDenied):
        await service.top_codes(restricted, start, end)
    allowed = RequestContext(principal=Principal(kind="api_key", key_id="key_y", key_kind="restricted",
                                                 key_rights={"analytics": "read"}), scope_=scope)
    assert (await service.summary(allowed, start, end)).metric("successful_payments").current.value == 1


@pytest.mark.parametrize(("call", "param"), [
    (lambda ctx, now: service.summary(ctx, now, now - timedelta(days=1)), "end"),
    (lambda ctx, now: service.summary(ctx, now.replace(tzinfo=None), now), "start"),
    (lambda ctx, now: service.summary(ctx, now - timedelta(days=1), now, timezone="Mars/Olympus"), "timezone"),
    (lambda ctx, now: service.summary(ctx, now - timedelta(days=1), now, currency="XYZ"), "currency"),
    (lambda ctx, now: service.summary(ctx, now - timedelta(days=1), now, compare="last_week"), "compare"),
    (lambda ctx, now: service.timeseries(ctx, now - timedelta(days=1), now, interval="minute"), "interval"),
    (lambda ctx, now: service.timeseries(ctx, now - timedelta(days=365), now, interval="hour"), "interval"),
    (lambda ctx, now: service.timeseries(ctx, now - timedelta(days=1), now, metrics=["profit"]), "metrics"),
    (lambda ctx, now: service.summary(ctx, now - timedelta(days=4000), now), "end"),
    (lambda ctx, now: service.api_breakdown(ctx, now - timedelta(days=1), now, group_by="ip"), "group_by"),
    (lambda ctx, now: service.top_codes(ctx, now - timedelta(days=1), now, kind="fraud"), "kind"),
    (lambda ctx, now: service.top_codes(ctx, now - timedelta(days=1), now, limit=0), "limit"),
])
async def test_bad_input_is_refused_naming_the_field(server, call, param):
    ctx, _ = await _owner()
    with pytest.raises(InvalidRequest) as refused:
        await call(ctx, datetime.now(UTC))
    assert refused.value.param == param
