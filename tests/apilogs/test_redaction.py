"""Secrets never reach the log table or the search index, and searching for them finds nothing."""

from __future__ import annotations

import json

import msgspec
import pytest

from server import db
from server.apilogs import records, redact
from server.apilogs.writer import flush_all
from tests.apilogs.helpers import capture
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

    def test_a_json_body_with_nothing_to_scrub_is_stored_as_its_compact_encoding(self):
        # given: a body none of whose keys or strings could need scrubbing (the whole-body pre-test passes it)
        body = json.dumps({"amount": 2000, "currency": "usd", "metadata": {"order": "A-12", "shipping": "pending"},
                           "tags": ["x", 1.5, None, True]}, indent=2)
        # when / then: it reads as the same JSON, written the way a scrubbed body is
        out = redact.body(body.encode(), "application/json", 16384)
        assert out == msgspec.json.encode(json.loads(body)).decode()

    @pytest.mark.parametrize("body", [
        {"a": {"b": [{"c": {"Password": PASSWORD}}]}},  # a secret-named key deep inside
        {"p\u0061ssword": PASSWORD},  # spelled with an escape: the text does not show the key's name
        {"\u017fecret": PASSWORD},  # 'ſecret': the case-blind name test reaches beyond ASCII
        {"note": f"paid with {CARD}"},  # a card number in a string under an innocent key
        {"note": f"paid with {CARD_SPACED}"},
        {"ref": int(CARD)},  # as a number
        {"memo": "sk_live_abcDEF1234567890 and " + WHSEC},
        {"memo": f"password: {PASSWORD}"},  # an inline field inside a string
    ])
    def test_secrets_anywhere_in_json_are_scrubbed(self, body):
        text = json.dumps(body).replace("\\\\u", "\\u")  # the escapes as written above, not doubled
        out = redact.body(text.encode(), "application/json", 16384)
        assert PASSWORD not in out and CARD not in out and "5556" not in out
        assert "abcDEF" not in out and "MfKQ9r8" not in out

    @pytest.mark.parametrize("name", [
        "csrf", "_csrf_token", "csrftoken", "password", "passwd", "passphrase", "NewPassword", "current_password",
        "old_password", "cvc2", "CVV", "csc", "cvn", "card_number", "cardnumber", "PAN", "pin", "secret",
        "client_secret", "api_key", "apikey", "access_token", "refresh_token", "token", "Authorization",
        "private_key", "signing_secret", "webhook_secret",
    ])
    def test_every_secret_field_name_is_masked_in_an_otherwise_clean_body(self, name):
        out = redact.body(json.dumps({"amount": 2000, name: "v4lue-kept-secret"}).encode(), "application/json", 16384)
        assert "v4lue-kept-secret" not in out and json.loads(out)[name] == redact.MASK

    @pytest.mark.parametrize(("body", "content_type"), [
        (f'{{"password": "{PASSWORD}", "card": "{CARD}"', "application/json"),  # invalid JSON: scrubbed as text
        (f"card {CARD_SPACED} and password={PASSWORD}", "text/plain"),
        (f"<card>{CARD_DASHED}</card><cvc>{CVC}</cvc> password: {PASSWORD}", "application/xml"),
        (f"[card {CARD}, password: {PASSWORD}", ""),  # looks like JSON, is not
    ])
    def test_secrets_in_bodies_that_are_not_json(self, body, content_type):
        out = redact.body(body.encode(), content_type, 16384)
        assert PASSWORD not in out and CARD not in out and "5556" not in out and "4444" not in out

    def test_clean_text_is_kept_as_is(self):
        text = "order 4242424242424241 (not a card), 12 digits 123456789012, ref pi_123"
        assert redact.body(text.encode(), "text/plain", 16384) == text

    def test_the_error_is_read_from_the_redacted_response(self):
        # given: a declined payment's response, whole and cut short
        response = {"error": {"type": "card_error", "code": "card_declined",
                              "message": f"Your card {CARD} was declined", "password": PASSWORD}}
        whole = capture("acct_x", method="POST", path="/v1/payment_intents", status=402, response=response)
        cut = capture("acct_x", method="POST", path="/v1/payment_intents", status=402, response=response)
        cut.response_total += 100  # the capture kept only the first bytes
        # when
        row, cut_row = records.build(whole, 16384), records.build(cut, 16384)
        assert row is not None and cut_row is not None
        fields = dict(zip(records.COLUMNS, row, strict=True))
        cut_fields = dict(zip(records.COLUMNS, cut_row, strict=True))
        # then: the whole one gives its type, code and scrubbed message; the cut one is not JSON, so only its status
        assert (fields["error_type"], fields["error_code"]) == ("card_error", "card_declined")
        assert fields["error_message"] == f"Your card {redact.CARD_MASK} was declined"
        assert PASSWORD not in fields["response_body"] and CARD not in fields["response_body"]
        assert (cut_fields["error_type"], cut_fields["error_code"], cut_fields["error_message"]) == (
            "invalid_request_error", None, None)

    def test_luhn_matches_the_digit_by_digit_sum(self):
        for digits in (CARD, NOT_A_CARD, "0" * 13, "79927398713", "4000056655665556", "1234567812345678"):
            total = sum(int(d) if i % 2 == 0 else (2 * int(d) - 9 if 2 * int(d) > 9 else 2 * int(d))
                        for i, d in enumerate(reversed(digits)))
            assert redact.luhn_ok(digits) is (total % 10 == 0)

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
