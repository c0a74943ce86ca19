"""Stripe-signed deliveries verified by `stripe.Webhook.construct_event` in a receiver process of its own;
compat requests in the request log; a failure after a commit recovered by a retry with the same key."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import stripe

from server import db, embedded
from server.apilogs.writer import flush_all
from tests.compat.conftest import sdk
from tests.support import eventually

RECEIVER = Path(__file__).with_name("stripe_receiver.py")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_deliveries_verify_with_construct_event(client: stripe.StripeClient, allow_private, tmp_path):
    port = embedded.free_port()
    endpoint = await sdk(client.webhook_endpoints.create, params={
        "url": f"http://127.0.0.1:{port}/hooks", "enabled_events": ["payment_intent.succeeded", "refund.created"]})
    assert endpoint.signature_scheme == "stripe" and endpoint.secret.startswith("whsec_")
    out = tmp_path / "verified.jsonl"
    receiver = await asyncio.create_subprocess_exec(sys.executable, str(RECEIVER), str(port), endpoint.secret,
                                                    str(out))
    try:
        await eventually(lambda: _reachable(port), message="the receiver process listens")
        pi = await sdk(client.payment_intents.create, params={"amount": 700, "currency": "usd", "confirm": True,
                                                               "payment_method": "pm_card_visa"})
        await sdk(client.refunds.create, params={"payment_intent": pi.id})
        got = await eventually(lambda: _lines(out) if len(_lines(out)) >= 2 else None, timeout=30,
                               message=lambda: f"two verified deliveries, got {_lines(out)}")
        assert all("error" not in line for line in got), got
        assert sorted((line["type"], line["object"]) for line in got) == [
            ("payment_intent.succeeded", "payment_intent"), ("refund.created", "refund")]
    finally:
        receiver.kill()
        await receiver.wait()
    changed = await sdk(client.webhook_endpoints.update, endpoint.id, params={"signature_scheme": "standard",
                                                                              "disabled": True})
    assert (changed.signature_scheme, changed.status) == ("standard", "disabled")
    assert [e.id for e in (await sdk(client.webhook_endpoints.list)).data] == [endpoint.id]
    assert (await sdk(client.webhook_endpoints.delete, endpoint.id)).deleted is True


def _reachable(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_compat_requests_are_logged_as_compat(http, merchant):
    resp = await http.post("/stripe/v1/customers", content="email=log%40example.com&metadata[a]=b",
                           headers={"Authorization": f"Bearer {merchant.keys['secret_test']}",
                                    "Content-Type": "application/x-www-form-urlencoded",
                                    "Stripe-Version": "2024-06-20", "Idempotency-Key": "log-1"})
    assert resp.status_code == 200, resp.text
    await flush_all()
    row = await db.fetchrow("SELECT * FROM api_request_logs WHERE id = $1", resp.headers["Request-Id"])
    assert (row["source"], row["path"], row["api_version"], row["idempotency_key"]) == (
        "compat", "/stripe/v1/customers", "2024-06-20", "log-1")


async def test_form_card_fields_are_redacted_in_the_log(http, merchant):
    headers = {"Authorization": f"Bearer {merchant.keys['secret_test']}"}
    made = await http.post("/stripe/v1/payment_intents", data={"amount": "300", "currency": "usd"}, headers=headers)
    resp = await http.post(f"/stripe/v1/payment_intents/{made.json()['id']}/confirm", headers=headers, data={
        "payment_method_data[card][number]": "4242424242424242", "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2040", "payment_method_data[card][cvc]": "987"})
    assert resp.status_code == 200, resp.text
    await flush_all()
    row = await db.fetchrow("SELECT request_body FROM api_request_logs WHERE id = $1", resp.headers["Request-Id"])
    assert "4242424242424242" not in row["request_body"] and "987" not in row["request_body"]


async def test_create_and_confirm_recovers_after_a_failure_after_each_commit(http, merchant):
    """`confirm=true` commits twice (the intent, then the charge); a retry with the key resumes, never repeats."""
    headers = {"Authorization": f"Bearer {merchant.keys['secret_test']}", "Idempotency-Key": "pay-once"}
    body = {"amount": "2500", "currency": "usd", "confirm": "true", "payment_method": "pm_card_visa"}
    for commit in (1, 2):
        failed = await http.post("/stripe/v1/payment_intents", data=body,
                                 headers={**headers, "Paydeck-Test-Fault": f"after-commit={commit}"})
        assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    done = await http.post("/stripe/v1/payment_intents", data=body, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "succeeded", done.text
    listed = await http.get("/stripe/v1/payment_intents", headers={"Authorization": headers["Authorization"]})
    assert [pi["id"] for pi in listed.json()["data"]] == [done.json()["id"]]
    balance = await http.get("/stripe/v1/balance", headers={"Authorization": headers["Authorization"]})
    moves = await http.get("/stripe/v1/balance_transactions", headers={"Authorization": headers["Authorization"]})
    assert len(moves.json()["data"]) == 1 and balance.json()["available"][0]["amount"] == moves.json()["data"][0]["net"]


async def test_json_bodies_and_bad_forms_name_the_parameter(http, merchant):
    headers = {"Authorization": f"Bearer {merchant.keys['secret_test']}"}
    made = await http.post("/stripe/v1/customers", json={"email": "json@example.com", "metadata": {"k": "v"}},
                           headers=headers)
    assert made.status_code == 200 and made.json()["metadata"] == {"k": "v"}
    bad = await http.post("/stripe/v1/customers", content="metadata[a]=1&metadata[a]=2", headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "metadata[a]"
    assert bad.json()["error"]["type"] == "invalid_request_error"
    amount = await http.post("/stripe/v1/payment_intents", data={"amount": "ten", "currency": "usd"}, headers=headers)
    assert amount.status_code == 400 and amount.json()["error"]["param"] == "amount"
    missing = await http.get("/stripe/v1/payment_intents/pi_nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    assert missing.json()["error"]["doc_url"].endswith("/resource_missing")
    state = await http.post("/stripe/v1/payment_intents", data={"amount": "100", "currency": "usd"}, headers=headers)
    capture = await http.post(f"/stripe/v1/payment_intents/{state.json()['id']}/capture", headers=headers)
    assert capture.status_code == 400 and capture.json()["error"]["code"] == "payment_intent_unexpected_state"


async def test_errors_raised_before_routing_come_in_stripes_shape(http, merchant):
    """The request guard, the idempotency middleware and unrouted paths answer /stripe/v1 the Stripe way."""
    headers = {"Authorization": f"Bearer {merchant.keys['secret_test']}"}
    first = await http.post("/stripe/v1/customers", data={"email": "a@example.com"},
                            headers={**headers, "Idempotency-Key": "shape-1"})
    assert first.status_code == 200
    answers = {
        "key reused": await http.post("/stripe/v1/customers", data={"email": "b@example.com"},
                                      headers={**headers, "Idempotency-Key": "shape-1"}),
        "key too long": await http.post("/stripe/v1/customers", data={"email": "c@example.com"},
                                        headers={**headers, "Idempotency-Key": "k" * 300}),
        "unreadable query": await http.get("/stripe/v1/customers?email=a%00b", headers=headers),
        "no such route": await http.get("/stripe/v1/charges", headers=headers),
    }
    for case, resp in answers.items():
        error = resp.json()["error"]
        assert {"type", "code", "message", "param", "decline_code", "doc_url", "request_id"} <= set(error), case
        assert error["decline_code"] is None, case
    reused, query = answers["key reused"], answers["unreadable query"]
    assert reused.status_code == 400 and reused.json()["error"]["type"] == "idempotency_error"
    assert query.status_code == 400 and query.json()["error"]["param"] == "email"
    assert answers["no such route"].status_code == 404
    assert answers["no such route"].json()["error"]["type"] == "invalid_request_error"
    plain = await http.get("/v1/customers?email=a%00b", headers=headers)  # /v1 keeps its own shape
    assert plain.status_code == 400 and "doc_url" not in plain.json()["error"]
