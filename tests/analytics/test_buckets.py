"""Pure parts: endpoint groups, error codes, local periods, comparison ranges, the rows a range is read from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.analytics.api_metrics import endpoint_group, error_code
from server.analytics.buckets import Compare, Interval, ceil, comparison_range, floor, period_starts
from server.analytics.levels import DAY, HOUR, QUARTER, segments

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("method", "path", "group"), [
    ("POST", "/v1/payment_intents/pi_01m8pey1893tjx8yhsm68ja8n2/confirm", "POST /v1/payment_intents/{id}/confirm"),
    ("get", "/v1/customers/cus_01m8pey1893tjx8yhsm68ja8n2/balance", "GET /v1/customers/{id}/balance"),
    ("POST", "/stripe/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa", "POST /stripe/v1/payment_intents/{id}"),
    ("POST", "/graphql", "POST /graphql"),
    ("GET", "/v1/events/", "GET /v1/events"),
    ("GET", "/v1/events?limit=3", "GET /v1/events"),
    ("POST", "/payments/pi_01m8pey1893tjx8yhsm68ja8n2/refund", "POST /payments/{id}/refund"),
    ("GET", "/v1/%2e%2e/12345", "GET /v1/{id}/{id}"),
    ("GET", "/" + "/".join(["a"] * 12), "GET /a/a/a/a/a/a/a/a/…"),
])
def test_ids_and_odd_segments_collapse_into_endpoint_groups(method, path, group):
    assert endpoint_group(method, path) == group


def test_error_codes_prefer_the_code_then_the_type_then_the_status():
    assert error_code(200, None, None) is None
    assert error_code(402, "card_declined", "card_error") == "card_declined"
    assert error_code(400, None, "invalid_request_error") == "invalid_request_error"
    assert error_code(502, None, None) == "http_502"


def test_buckets_are_quarter_hours():
    moment = datetime(2026, 5, 1, 10, 14, 59, 999_999, tzinfo=UTC)
    assert floor(moment) == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert ceil(moment) == datetime(2026, 5, 1, 10, 15, tzinfo=UTC)
    assert ceil(floor(moment)) == floor(moment)


def test_weeks_start_on_monday_and_months_on_the_first_in_local_time():
    start, end = datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 20, tzinfo=UTC)
    weeks = period_starts(start, end, BERLIN, Interval.WEEK)
    assert [w.astimezone(BERLIN).strftime("%a %d %H:%M") for w in weeks] == [
        "Mon 16 00:00", "Mon 23 00:00", "Mon 30 00:00", "Mon 06 00:00", "Mon 13 00:00", "Mon 20 00:00"]
    assert weeks[2] - weeks[1] == timedelta(days=7, hours=-1)  # the week of the spring change is an hour short
    months = period_starts(start, end, BERLIN, Interval.MONTH)
    assert months == [datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC)]


def test_comparison_ranges_follow_the_local_calendar():
    day = datetime(2026, 3, 29, tzinfo=BERLIN)  # 23 hours long
    start, end = day.astimezone(UTC), (day + timedelta(days=1)).astimezone(UTC)
    assert end - start == timedelta(hours=23)
    before = comparison_range(start, end, BERLIN, Compare.PREVIOUS_PERIOD)
    assert before == ((day - timedelta(days=1)).astimezone(UTC), start)  # the whole 24-hour day before
    so_far = comparison_range(start, start + timedelta(hours=10), BERLIN, Compare.PREVIOUS_PERIOD)
    assert so_far == ((day - timedelta(days=1)).astimezone(UTC),
                      datetime(2026, 3, 28, 11, tzinfo=BERLIN).astimezone(UTC))  # yesterday to the same time
    leap = datetime(2028, 2, 29, tzinfo=BERLIN).astimezone(UTC)
    assert comparison_range(leap, leap + timedelta(days=1), BERLIN, Compare.PREVIOUS_YEAR)[0] == datetime(
        2027, 2, 28, tzinfo=BERLIN).astimezone(UTC)
    hours = datetime(2026, 6, 1, 9, 30, tzinfo=BERLIN)
    assert comparison_range(hours.astimezone(UTC), (hours + timedelta(hours=2)).astimezone(UTC), BERLIN,
                            Compare.PREVIOUS_PERIOD) == ((hours - timedelta(hours=2)).astimezone(UTC),
                                                         hours.astimezone(UTC))


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def test_a_range_is_read_from_the_fewest_rows_that_split_no_period():
    assert segments(_t(1, 10, 15), _t(1, 10, 45)) == [(QUARTER, _t(1, 10, 15), _t(1, 10, 45))]
    assert segments(_t(1, 10, 15), _t(3, 10, 45)) == [
        (QUARTER, _t(1, 10, 15), _t(1, 11)), (HOUR, _t(1, 11), _t(2, 0)), (DAY, _t(2, 0), _t(3, 0)),
        (HOUR, _t(3, 0), _t(3, 10)), (QUARTER, _t(3, 10), _t(3, 10, 45))]
    # Local days in New York start at 04:00 UTC: whole hours, never whole UTC days.
    assert segments(_t(1, 4), _t(4, 4), [_t(2, 4), _t(3, 4)]) == [(HOUR, _t(1, 4), _t(4, 4))]
    # Local days in Kathmandu start at 18:15 UTC: only quarter hours keep them apart.
    assert segments(_t(1, 18, 15), _t(3, 18, 15), [_t(2, 18, 15)]) == [(QUARTER, _t(1, 18, 15), _t(3, 18, 15))]
    # A boundary outside the range does not matter.
    assert segments(_t(1, 0), _t(2, 0), [_t(5, 18, 15)]) == [(DAY, _t(1, 0), _t(2, 0))]
