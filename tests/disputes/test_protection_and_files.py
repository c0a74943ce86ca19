"""Seller protection (covered and not), and evidence files: size, type sniffed from content, storage."""

from __future__ import annotations

import pytest

from server import db
from tests.disputes.helpers import (
    ELF,
    EXE,
    JPEG,
    PDF,
    PNG,
    assert_analytics_agree,
    assert_ledger_balanced,
    dispute_entries,
    disputed,
    events_of,
    purpose_balances,
    settled,
    upload,
)
from tests.payments.helpers import merchant

FEE = 1500


@pytest.fixture
async def m(http):
    return await merchant(http)


async def _lose_with(m, reason: str, evidence: dict) -> tuple[dict, dict]:
    pi, dp = await disputed(m, 10_000, reason=reason)
    resp = await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {**evidence, "uncategorized_text": "losing_evidence"},
                                                    "submit": True})
    assert resp.status_code == 200, resp.text
    return pi, await settled(m, dp["id"], "lost")


@pytest.mark.parametrize("reason", ["product_not_received", "unrecognized"])
async def test_a_lost_dispute_with_tracking_and_proof_of_delivery_is_covered(m, reason):
    proof = (await upload(m, PDF, "delivery.pdf")).json()["id"]
    pi, lost = await _lose_with(m, reason, {"shipping_tracking_number": "1Z999AA10123456784",
                                            "shipping_documentation": proof})
    assert lost["seller_protection"] == "covered" and lost["funds_reinstated"] is True
    assert "tracking number and proof of delivery" in lost["seller_protection_reason"]
    # The cardholder got the amount; the platform gave it back to the merchant; the fee is kept.
    assert await m.balance() == pi["amount_received"] - pi["fee"] - FEE
    balances = await purpose_balances(m)
    assert balances["platform_protection"] == -10_000 and balances["dispute_hold"] == 0
    assert ("seller_protection", "platform_protection", -10_000) in await dispute_entries(lost["id"])
    assert ("seller_protection", "merchant_balance", 10_000) in await dispute_entries(lost["id"])
    assert (await events_of(lost["id"]))[-2:] == ["charge.dispute.funds_reinstated", "charge.dispute.closed"]
    await assert_ledger_balanced(m)
    await assert_analytics_agree(m)


@pytest.mark.parametrize(("reason", "evidence", "why"), [
    ("product_not_received", {"shipping_tracking_number": "1Z999"}, "proof of delivery"),
    ("product_not_received", {"shipping_documentation": "PROOF"}, "tracking number"),
    ("unrecognized", {}, "tracking number and a proof of delivery"),
    ("fraudulent", {"shipping_tracking_number": "1Z999", "shipping_documentation": "PROOF"}, "'fraudulent'"),
    ("duplicate", {"shipping_tracking_number": "1Z999", "shipping_documentation": "PROOF"}, "'duplicate'"),
])
async def test_a_lost_dispute_without_what_protection_needs_is_not_covered_and_says_why(m, reason, evidence, why):
    if evidence.get("shipping_documentation") == "PROOF":
        evidence = {**evidence, "shipping_documentation": (await upload(m, PNG, "proof.png")).json()["id"]}
    pi, lost = await _lose_with(m, reason, evidence)
    assert lost["seller_protection"] == "not_covered" and lost["funds_reinstated"] is False
    assert why in lost["seller_protection_reason"]
    assert await m.balance() == pi["amount_received"] - pi["fee"] - 10_000 - FEE
    assert (await purpose_balances(m)).get("platform_protection", 0) == 0
    await assert_ledger_balanced(m)


async def test_an_open_dispute_says_what_protection_still_needs(m):
    _, dp = await disputed(m, reason="product_not_received")
    shown = (await m.post(f"/v1/disputes/{dp['id']}", {"evidence": {"shipping_tracking_number": "1Z"}})).json()
    assert shown["seller_protection"] is None
    assert "proof of delivery" in shown["seller_protection_reason"]


# --- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "kind"), [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpg")])
async def test_pdf_png_and_jpeg_are_accepted_by_their_content_whatever_their_name(m, content, kind):
    resp = await upload(m, content, "evidence.txt")
    assert resp.status_code == 200, resp.text
    made = resp.json()
    assert made["type"] == kind and made["size"] == len(content) and made["purpose"] == "dispute_evidence"
    assert made["filename"] == "evidence.txt" and made["id"].startswith("file_")
    back = await m.http.get(f"/v1/files/{made['id']}/contents", headers=m.headers)
    assert back.status_code == 200 and back.content == content
    assert back.headers["content-type"].startswith({"pdf": "application/pdf", "png": "image/png",
                                                    "jpg": "image/jpeg"}[kind])
    assert back.headers["content-disposition"].startswith("attachment")
    assert back.headers["x-content-type-options"] == "nosniff"
    stored = await db.fetchrow("SELECT content FROM files WHERE id = $1", made["id"])
    assert bytes(stored["content"]) == content


@pytest.mark.parametrize(("content", "name"), [(EXE, "receipt.pdf"), (ELF, "photo.png"), (b"GIF89a" + b"0" * 20,
                                                                                          "shipping.jpg"),
                                               (b"just some text, not a document", "notes.pdf")])
async def test_anything_else_is_refused_whatever_its_name(m, content, name):
    resp = await upload(m, content, name)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["param"] == "file" and "only PDF, PNG and JPEG" in error["message"]
    if content in (EXE, ELF):
        assert "executable" in error["message"]
    assert await db.fetchrow("SELECT 1 FROM files WHERE account_id = $1", m.id) is None


async def test_a_file_over_5_mb_is_refused_and_5_mb_is_accepted(m):
    exact = PDF + b"0" * (5 * 1024 * 1024 - len(PDF))
    assert (await upload(m, exact)).status_code == 200
    over = await upload(m, exact + b"0")
    assert over.status_code == 400 and over.json()["error"]["param"] == "file"
    assert "5 MB" in over.json()["error"]["message"]
    far_over = await upload(m, exact * 2)
    assert far_over.status_code == 413


async def test_an_empty_file_a_bad_purpose_and_json_are_refused(m):
    assert (await upload(m, b"")).json()["error"]["param"] == "file"
    bad = await upload(m, PDF, purpose="identity_document")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "purpose"
    as_json = await m.post("/v1/files", {"purpose": "dispute_evidence"})
    assert as_json.status_code == 415 and as_json.json()["error"]["param"] == "Content-Type"


async def test_multipart_is_refused_everywhere_else_in_the_api(m):
    resp = await m.http.post("/v1/customers", data={"name": "x"}, files={"f": ("a.pdf", PDF)}, headers=m.headers)
    assert resp.status_code == 415


async def test_an_upload_retried_with_its_idempotency_key_makes_one_file(m):
    key = {"Idempotency-Key": "upload-once"}
    first = await upload(m, PDF, headers=key)
    again = await upload(m, PDF, headers=key)  # a new multipart boundary, the same parts
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = await upload(m, PNG, headers=key)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


async def test_file_contents_are_not_kept_in_the_request_log(m):
    from tests.support import eventually

    await upload(m, PDF + b"SECRET-EVIDENCE")

    async def logged():
        return await db.fetchrow("SELECT request_body FROM api_request_logs WHERE account_id = $1 AND "
                                 "path = '/v1/files' AND method = 'POST'", m.id)

    row = await eventually(logged)
    assert "SECRET-EVIDENCE" not in row["request_body"] and "not logged" in row["request_body"]
