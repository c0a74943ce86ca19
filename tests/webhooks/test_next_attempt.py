"""What an answer means for a delivery, decided without a database: `delivery.next_attempt()`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from server.webhooks.delivery import JITTER, MAX_RETRY_AFTER, SCHEDULE, Answer, next_attempt

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def delay_of(verdict) -> float:
    return (verdict.retry_at - NOW).total_seconds()


class TestSchedule:
    def test_a_2xx_succeeds_with_nothing_left_to_do(self):
        verdict = next_attempt(Answer(204), 3, True, NOW)
        assert (verdict.succeeded, verdict.status, verdict.retry_at, verdict.error) == (True, "succeeded", None, None)
        assert verdict.disable_reason is None

    @pytest.mark.parametrize("attempt", range(1, len(SCHEDULE)))
    def test_each_failure_waits_its_step_of_the_schedule_within_the_jitter(self, attempt):
        rng = random.Random(attempt)
        delays = [delay_of(next_attempt(Answer(500), attempt, True, NOW, rng)) for _ in range(200)]
        base = SCHEDULE[attempt]
        assert all(base * (1 - JITTER) <= d <= base * (1 + JITTER) for d in delays)
        assert max(delays) - min(delays) > base * JITTER, "the delays are spread, not one fixed value"

    def test_the_jitter_reaches_both_of_its_bounds(self):
        lowest = next_attempt(Answer(500), 2, True, NOW, _Fixed(1 - JITTER))
        highest = next_attempt(Answer(500), 2, True, NOW, _Fixed(1 + JITTER))
        assert delay_of(lowest) == pytest.approx(SCHEDULE[2] * (1 - JITTER))
        assert delay_of(highest) == pytest.approx(SCHEDULE[2] * (1 + JITTER))

    def test_the_last_scheduled_attempt_fails_for_good(self):
        verdict = next_attempt(Answer(500), len(SCHEDULE), True, NOW)
        assert (verdict.status, verdict.retry_at, verdict.error) == ("failed", None, "HTTP 500")

    def test_without_auto_retry_one_failure_is_final(self):
        verdict = next_attempt(Answer(500), 1, False, NOW)
        assert (verdict.status, verdict.retry_at) == ("failed", None)

    def test_no_answer_keeps_the_transport_error_and_is_retried(self):
        verdict = next_attempt(Answer(error="timed out after 15s"), 1, True, NOW)
        assert verdict.status == "pending" and verdict.error == "timed out after 15s"


class TestSpecialAnswers:
    def test_410_fails_for_good_and_disables_the_endpoint(self):
        verdict = next_attempt(Answer(410), 1, True, NOW)
        assert (verdict.status, verdict.retry_at, verdict.error) == ("failed", None, "HTTP 410")
        assert verdict.disable_reason == "the endpoint answered 410 Gone"

    def test_410_disables_even_a_manual_resend(self):
        assert next_attempt(Answer(410), 1, False, NOW).disable_reason

    @pytest.mark.parametrize("code", [429, 503])
    def test_retry_after_in_seconds_postpones_the_retry(self, code):
        verdict = next_attempt(Answer(code, {"retry-after": "600"}), 1, True, NOW)
        assert verdict.status == "pending" and delay_of(verdict) == 600

    def test_retry_after_as_a_date(self):
        when = NOW + timedelta(hours=2)
        verdict = next_attempt(Answer(503, {"retry-after": format_datetime(when, usegmt=True)}), 1, True, NOW)
        assert delay_of(verdict) == 7200

    def test_retry_after_never_brings_a_retry_forward_and_is_capped_at_a_day(self):
        sooner = next_attempt(Answer(429, {"retry-after": "1"}), 3, True, NOW, _Fixed(1.0))
        assert delay_of(sooner) == SCHEDULE[3]
        capped = next_attempt(Answer(429, {"retry-after": str(10 * MAX_RETRY_AFTER)}), 1, True, NOW)
        assert delay_of(capped) == MAX_RETRY_AFTER

    def test_retry_after_is_ignored_on_other_failures_and_when_unreadable(self):
        other = next_attempt(Answer(500, {"retry-after": "600"}), 1, True, NOW, _Fixed(1.0))
        unreadable = next_attempt(Answer(429, {"retry-after": "soon"}), 1, True, NOW, _Fixed(1.0))
        assert delay_of(other) == delay_of(unreadable) == SCHEDULE[1]

    @pytest.mark.parametrize("code", [301, 302, 307, 308])
    def test_a_redirect_is_a_failure_that_says_it_was_not_followed(self, code):
        verdict = next_attempt(Answer(code, {"location": "http://10.0.0.1/"}), 1, True, NOW)
        assert not verdict.succeeded and verdict.status == "pending"
        assert verdict.error == f"HTTP {code} (redirects are not followed)"


class _Fixed(random.Random):
    """A jitter source that always draws the same factor."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def uniform(self, a: float, b: float) -> float:
        assert a <= self.factor <= b
        return self.factor
