"""Signals made of a payment's facts: types, spellings, what is left out, and what is never counted."""

from __future__ import annotations

from server.fraud.inputs import (
    CardFacts,
    Subject,
    Usual,
    amount_in_usd,
    base_signals,
    card_fingerprint,
    public_ip,
    velocity_keys,
)
from server.fraud.signals import CATALOGUE
from server.fraud.usd import usd_rate

CARD = CardFacts(fingerprint="fp1", brand="visa", country="US", funding="credit", reported_stolen=False,
                 shared_test_card=False)


def test_signals_have_real_json_types_and_catalogue_names():
    subject = Subject("payment", "pi_1", 150000, "eur", customer="cus_1", email=" Buyer@Example.COM ",
                      ip_address="81.2.69.142", user_agent="Mozilla/5.0", card=CARD)
    signals = base_signals(subject, Usual(count=3, median=10000.0), usd=1620.0)
    assert set(signals) <= set(CATALOGUE)
    assert signals["amount"] == 150000 and signals["amount_in_usd"] == 1620.0
    assert signals["currency"] == "EUR" and signals["email"] == "buyer@example.com"
    assert signals["email_domain"] == "example.com" and signals["ip_country"] == "GB"
    assert signals["is_new_customer"] is False and signals["amount_vs_customer_median"] == 15.0
    assert signals["card_country"] == "US" and signals["card_reported_stolen"] is False


def test_missing_facts_are_left_out_not_stored_as_nulls():
    signals = base_signals(Subject("transfer", "tr_1", 500, "usd"), Usual(0, None), usd=None)
    assert signals == {"transaction_type": "transfer", "amount": 500, "currency": "USD", "is_3d_secure": False}


def test_a_first_payment_is_new_and_has_no_median_ratio():
    signals = base_signals(Subject("payment", "pi_1", 500, "usd", customer="cus_1"), Usual(0, None), usd=5.0)
    assert signals["is_new_customer"] is True and "amount_vs_customer_median" not in signals


def test_private_addresses_are_kept_as_given_but_neither_located_nor_counted():
    subject = Subject("payment", "pi_1", 500, "usd", ip_address="10.1.2.3", card=CARD)
    signals = base_signals(subject, Usual(0, None), usd=5.0)
    assert signals["ip_address"] == "10.1.2.3" and "ip_country" not in signals
    assert velocity_keys(subject)["ip_address"] is None
    assert public_ip("::ffff:8.8.8.8") == "8.8.8.8" and public_ip("127.0.0.1") is None and public_ip("x") is None


def test_fingerprints_are_keyed_and_differ_per_account():
    one = card_fingerprint(b"k", "acct_1", "4242424242424242")
    assert one == card_fingerprint(b"k", "acct_1", "4242424242424242")
    assert one != card_fingerprint(b"k", "acct_2", "4242424242424242")
    assert one != card_fingerprint(b"other", "acct_1", "4242424242424242")
    assert "4242" not in one


def test_usd_amounts():
    assert amount_in_usd(1999, 2, usd_rate("usd", None)) == 19.99
    assert amount_in_usd(1000, 0, usd_rate("JPY", 0.01)) == 10.0  # the account's rate wins
    assert amount_in_usd(500, 2, usd_rate("XXX", None)) is None
