"""Secrets never reach the log table or the search index, and searching for them finds nothing."""

from __future__ import annotations

import json

import pytest

from server import db
from server.apilogs import redact
from server.apilogs.writer import flush_all
from tests.factories import new_account

CARD = "4242424242424242"
CARD_SPACED = "4000 0566 5566 5556"
CARD_DASHED = "5555-5555-5555-4444"
NOT_A_CARD = "4242424242424241"  # fails Luhn: an order number, kept
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PASSWORD = "hunter2-very-secret"
CVC = "987"


class TestRedactText:
    def test_card_numbers_with_and_without_separators(self):
        text = f"a {CARD} b {CARD_SPACED} c {CARD_DASHED} d {NOT_A_CARD}"
        out = redact.scrub_text(text)
        assert CARD not in out and "5556" not in out and "4444" not in out
        assert out.count(redact.CARD_MASK) == 3
        assert NOT_A_CARD in out

    def test_keys_and_webhook_secrets_keep_only_their_prefix(self):
        out = redact.scrub_text("use sk_live_abcDEF1234567890abcdef1234567890AbCdEf and " + WHSEC)
        assert out == "use sk_live_[REDACTED] and whsec_[REDACTED]"

    def test_secret_fields_in_json(self):
        body = json.dumps({"card": {"number": CARD, "cvc": CVC, "exp_month": 12}, "password": PASSWORD,
                           "nested": [{"client_secret": "pi_x_secret_abc"}], "amount": 2000})
        out = redact.body(body.encode(), "application/json", 16384)
        assert CVC not in out and PASSWORD not in out and CARD not in out and "secret_abc" not in out
        assert json.loads(out)["amount"] == 2000 and json.loads(out)["card"]["exp_month"] == 12

    def test_card_number_as_a_json_number(self):
        out = redact.body(b'{"number": 4242424242424242}', "application/json", 16384)
        assert CARD not in out

    def test_form_bodies_and_query_strings(self):
        out = redact.body(f"email=a%40b.c&password={PASSWORD}&_csrf=tok".encode(),
                          "application/x-www-form-urlencoded", 16384)
        assert PASSWORD not in out and "tok" not in out and "a%40b.c" in out
        params = redact.query_params(f"cvc={CVC}&card={CARD}&limit=3")
        assert params == {"cvc": "[REDACTED]", "card": redact.CARD_MASK, "limit": "3"}

    def test_inline_graphql_arguments(self):
        query = f'mutation {{ confirm(card: {{number: "{CARD}", cvc: "{CVC}"}}, password: "{PASSWORD}") {{ id }} }}'
        out = redact.body(json.dumps({"query": query}).encode(), "application/json", 16384)
        assert CVC not in out and PASSWORD not in out and CARD not in out

    def test_secret_headers(self):
        out = redact.headers([("Authorization", "Bearer sk_test_x"), ("Cookie", "paydeck_session=abc"),
                              ("X-Trace", CARD), ("User-Agent", "curl/8")])
        assert out == {"authorization": "[REDACTED]", "cookie": "[REDACTED]", "x-trace": redact.CARD_MASK,
                       "user-agent": "curl/8"}

    def test_truncation_marker_and_no_partial_card_at_the_cut(self):
        text = "x" * 100 + CARD
        out = redact.truncate(text, 108)
        assert out.startswith("x" * 100) and "truncated by Paydeck: 116 bytes" in out
        assert "42424242" not in out


@pytest.fixture
async def account(server):
    return await new_account(name="Redaction Co")


async def test_secrets_sent_every_way_are_not_stored_and_not_found(http, account):
    # given: a GraphQL call with secrets in body, headers and the query string
    key = account.keys["secret_test"]
    query = (f'query Probe {{ account {{ id }} }} # password: "{PASSWORD}" card {CARD}')
    resp = await http.post(
        f"/graphql?card={CARD_DASHED}&password={PASSWORD}",
        json={"query": query, "variables": {"cvc": CVC, "card": {"number": CARD_SPACED}, "secret": WHSEC,
                                            "note": f"key {account.keys['secret_live']}"}},
        headers={"Authorization": f"Bearer {key}", "X-Debug": CARD, "Cookie": "paydeck_session=s3cr3t-cookie"},
    )
    assert resp.status_code == 200, resp.text
    request_id = resp.headers["Request-Id"]
    await flush_all()

    # then: no column of the stored row holds any secret
    row = await db.fetchrow("SELECT to_jsonb(l)::text AS everything FROM api_request_logs l WHERE id = $1",
                            request_id)
    assert row is not None, "the request was not logged"
    stored = row["everything"]
    secrets = [CARD, CARD_SPACED, CARD_DASHED, CVC, PASSWORD, WHSEC, key, account.keys["secret_live"],
               "s3cr3t-cookie", CARD.replace(" ", ""), CARD_SPACED.replace(" ", ""), CARD_DASHED.replace("-", "")]
    for secret in secrets:
        assert secret not in stored, f"{secret!r} was stored"
    assert "Probe" in stored

    # and: searching for any of them finds nothing (the record itself is findable)
    auth = {"Authorization": f"Bearer {key}"}
    found = await http.get("/v1/request_logs", params={"query": request_id}, headers=auth)
    assert [r["id"] for r in found.json()["data"]] == [request_id]
    for secret in [CARD, CARD_DASHED, PASSWORD, WHSEC, key, "s3cr3t"]:
        result = await http.get("/v1/request_logs", params={"query": secret}, headers=auth)
        assert result.status_code == 200
        assert request_id not in [r["id"] for r in result.json()["data"]], secret
