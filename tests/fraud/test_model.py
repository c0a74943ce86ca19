"""The scoring model: each factor's formula, the total, the levels, and the test-card exemption."""

from __future__ import annotations

import pytest

from server.fraud.model import BASE_POINTS, FACTORS, MAX_SCORE, level_of, score
from server.fraud.signals import CATALOGUE


def test_every_factor_reads_a_catalogue_signal():
    for factor in FACTORS:
        assert factor.signal in CATALOGUE and (factor.differs_from is None or factor.differs_from in CATALOGUE)


def test_nothing_known_scores_the_base_and_lists_every_factor_at_zero():
    result = score({})
    assert result.score == BASE_POINTS and result.level == "normal"
    assert [c.points for c in result.contributions] == [0] * len(FACTORS)


@pytest.mark.parametrize(("score_", "level"), [(0, "normal"), (64, "normal"), (65, "elevated"), (74, "elevated"),
                                               (75, "highest"), (99, "highest")])
def test_levels(score_, level):
    assert level_of(score_) == level


def points(signals, name):
    return next(c.points for c in score(signals).contributions if c.signal == name)


@pytest.mark.parametrize(("value", "expected"), [(1, 0), (2, 0), (3, 15), (4, 30), (5, 45), (50, 45)])
def test_per_unit_over_a_threshold_with_a_cap(value, expected):
    assert points({"charge_attempts_per_card_minutely": value}, "charge_attempts_per_card_minutely") == expected


@pytest.mark.parametrize(("value", "expected"), [(4.9, 0), (5, 0), (5.01, 20), (20, 20), (20.5, 35), (None, 0)])
def test_steps(value, expected):
    assert points({"amount_vs_customer_median": value}, "amount_vs_customer_median") == expected


def test_countries_score_only_when_both_are_known_and_differ():
    name = "card_country vs ip_country"
    assert points({"card_country": "US", "ip_country": "GB"}, name) == 15
    assert points({"card_country": "US", "ip_country": "US"}, name) == 0
    assert points({"card_country": "US"}, name) == 0


def test_a_reported_card_alone_is_highest():
    assert score({"card_reported_stolen": True}).level == "highest"
    assert points({"card_reported_stolen": "yes"}, "card_reported_stolen") == 0  # only a real boolean


def test_a_burst_on_one_card_climbs_to_highest():
    levels = [score({"charge_attempts_per_card_minutely": n, "charge_attempts_per_card_hourly": n}).level
              for n in range(1, 11)]
    assert levels[:4] == ["normal"] * 4 and "elevated" in levels and levels[-1] == "highest"


def test_the_score_stops_at_99():
    everything = {"card_reported_stolen": True, "charge_attempts_per_card_minutely": 100,
                  "card_count_for_ip_address_hourly": 100}
    assert score(everything).score == MAX_SCORE


def test_a_shared_test_card_history_gives_no_points_but_its_values_are_kept():
    burst = {"charge_attempts_per_card_minutely": 30, "charge_attempts_per_card_hourly": 30,
             "card_count_for_ip_address_hourly": 30, "charge_attempts_per_ip_address_minutely": 30}
    shared = score(burst, shared_test_card=True)
    assert shared.score == BASE_POINTS + 32  # only the IP address's own attempts
    minute = next(c for c in shared.contributions if c.signal == "charge_attempts_per_card_minutely")
    assert minute.value == 30 and minute.points == 0 and "test card" in (minute.note or "")
    assert score(burst).level == "highest"
