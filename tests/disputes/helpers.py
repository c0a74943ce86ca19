"""Shared helpers of the dispute tests: a merchant with paid payments, disputes made through the test helper,
and the ledger read back to check where every minor unit is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server import db
from server.analytics import verify
from tests.payments.helpers import Merchant
from tests.support import eventually

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


async def dispute(m: Merchant, pi_id: str, **body: Any) -> dict[str, Any]:
    resp = await m.post(f"/v1/test_helpers/payment_intents/{pi_id}/dispute", body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def disputed(m: Merchant, paid: int = 10_000, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A paid payment of `paid` and its dispute (`body`: reason, amount, inquiry)."""
    pi = await m.paid(paid)
    return pi, await dispute(m, pi["id"], **body)


async def upload(m: Merchant, content: bytes, filename: str = "proof.pdf", purpose: str = "dispute_evidence",
                 headers: dict[str, str] | None = None):
    return await m.http.post("/v1/files", data={"purpose": purpose}, files={"file": (filename, content)},
                             headers={**m.headers, **(headers or {})})


async def get(m: Merchant, dispute_id: str) -> dict[str, Any]:
    resp = await m.get(f"/v1/disputes/{dispute_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


async def settled(m: Merchant, dispute_id: str, status: str) -> dict[str, Any]:
    """The dispute once the processor's decision has come through the feed."""
    async def reached() -> dict[str, Any] | None:
        found = await get(m, dispute_id)
        return found if found["status"] == status else None

    return await eventually(reached, message=f"dispute {dispute_id} never became {status}")


async def purpose_balances(m: Merchant, currency: str = "USD") -> dict[str, int]:
    rows = await db.fetch("SELECT purpose, sum(balance) AS balance FROM ledger_accounts WHERE account_id = $1 "
                          "AND livemode = false AND currency = $2 GROUP BY purpose", m.id, currency)
    return {r["purpose"]: int(r["balance"]) for r in rows}


async def assert_ledger_balanced(m: Merchant) -> None:
    """Every entry of the account sums to zero, and so does the whole ledger."""
    unbalanced = await db.fetch(
        "SELECT entry_id, currency, sum(amount) AS s FROM postings WHERE account_id = $1 GROUP BY 1, 2 "
        "HAVING sum(amount) <> 0", m.id)
    assert unbalanced == []
    total = await db.fetchrow("SELECT coalesce(sum(balance), 0) AS s FROM ledger_accounts WHERE account_id = $1",
                              m.id)
    assert total["s"] == 0


async def dispute_entries(dispute_id: str) -> list[tuple[str, str, int]]:
    """(entry kind, ledger purpose, amount) of every posting the dispute made, in order."""
    rows = await db.fetch(
        "SELECT je.kind, la.purpose, p.amount FROM journal_entries je JOIN postings p ON p.entry_id = je.id "
        "JOIN ledger_accounts la ON la.id = p.ledger_account_id WHERE je.reference = $1 "
        "ORDER BY je.created, je.id, p.amount", dispute_id)
    return [(r["kind"], r["purpose"], int(r["amount"])) for r in rows]


async def events_of(object_id: str) -> list[str]:
    rows = await db.fetch("SELECT type FROM events WHERE object_id = $1 ORDER BY seq", object_id)
    return [r["type"] for r in rows]


async def assert_analytics_agree(m: Merchant) -> None:
    """`paydeck analytics verify` finds nothing: rollups, sources and the ledger agree (disputes included)."""
    since = datetime.now(UTC) - timedelta(days=1)
    assert await verify.verify(since, until=datetime.now(UTC) + timedelta(days=30), account_id=m.id) == []
