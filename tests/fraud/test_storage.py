"""Stored signals: short keys for velocity, one key per signal, and a lossless round trip."""

from __future__ import annotations

from server.fraud.signals import CATALOGUE
from server.fraud.storage import NAME_OF, STORED_KEY, column_for, from_stored, to_stored


def test_every_signal_has_its_own_key():
    assert set(STORED_KEY) == set(CATALOGUE)
    assert len(set(STORED_KEY.values())) == len(CATALOGUE)
    assert STORED_KEY["card_count_for_ip_address_hourly"] == "card.ip.1h"
    assert STORED_KEY["charge_attempts_per_customer_weekly"] == "n.cus.7d"
    assert STORED_KEY["amount_in_usd_per_email_daily"] == "usd.email.1d"
    assert STORED_KEY["risk_level"] == "risk_level"


def test_keys_are_safe_inside_a_quoted_sql_literal():
    assert all(key.replace(".", "").replace("_", "").isalnum() for key in NAME_OF)
    assert column_for("signals")("card_count_for_ip_address_hourly") == "signals->>'card.ip.1h'"


def test_round_trip_keeps_types_and_drops_unknown_or_missing():
    signals = {"amount": 1999, "amount_in_usd": 19.99, "is_new_customer": True, "email": "a@b.co",
               "charge_attempts_per_card_minutely": 3, "ip_country": None, "not_a_signal": 1}
    stored = to_stored(signals)
    assert stored == {"amount": 1999, "amount_in_usd": 19.99, "is_new_customer": True, "email": "a@b.co",
                      "n.card.1m": 3}
    assert from_stored({**stored, "from.a.later.version": 1}) == {k: v for k, v in signals.items()
                                                                   if k in CATALOGUE and v is not None}
