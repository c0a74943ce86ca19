"""The built-in card-processor simulator: a separate local HTTP service, the "third party".

Run alone with `python -m server.payments.simulator --port 8101`; `paydeck run`
and the tests start it for you. It honours an `Idempotency-Key` on every call
(the same key returns the first answer and never charges again), and behaves
per the test cards in `server.payments.cards` (docs/payments.md lists them).
Card numbers are used to decide the outcome and to compute a fingerprint
(HMAC with the simulator's secret); they are not kept.

Like a real processor it remembers what it did: with `--state FILE` every
charge, refund and answer is written to SQLite (synchronous, fsynced) before
it is answered, and read back at start, so a restart never forgets a charge
(the reconciler would otherwise void it and fail a payment that was paid).
Without `--state` it keeps them in memory only.

Disputes are the processor's news: a dispute card's charge is disputed right
after it is paid, and `POST /v1/charges/{id}/disputes` (what the app's test
helper calls) opens one on any paid charge. Every change of a dispute takes the
next number of one sequence, and `GET /v1/disputes?after=N` answers the
disputes changed after N in that order: the feed the app polls. Evidence sent
with `POST /v1/disputes/{id}/evidence` is decided `--dispute-decision-seconds`
later by Stripe's test convention (`winning_evidence` wins, `losing_evidence`
loses; other evidence stays under review); `POST /v1/disputes/{id}/close`
accepts it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import secrets
import sqlite3
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.exceptions import HTTPException

from server import clock
from server.payments.cards import BY_NUMBER, brand, luhn_ok

STATE: dict[str, Any] = {"secret": b"simulator", "timeout_delay": 30.0, "latency": 0.0, "decision_delay": 5.0,
                         "seq": 0, "feed": secrets.token_hex(8)}
CHARGES: dict[str, dict[str, Any]] = {}   # by charge id
BY_KEY: dict[str, str] = {}               # charge idempotency key -> charge id
REPLIES: dict[str, dict[str, Any]] = {}   # idempotency key of captures/cancels/refunds -> first answer
REFUNDS: dict[str, dict[str, Any]] = {}
DISPUTES: dict[str, dict[str, Any]] = {}  # by dispute id
DISPUTE_OF_CHARGE: dict[str, str] = {}    # charge id -> its dispute (one per charge)


class Store:
    """The simulator's memory on disk: one SQLite table per dict above, written through on every change."""

    TABLES = ("charges", "replies", "refunds", "disputes", "meta")

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit; explicit BEGIN in save()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # every commit is fsynced before we answer
        for table in self.TABLES:
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, body TEXT NOT NULL)")

    def load(self) -> None:
        """Fill the dicts from disk."""
        for charge_id, body in self.db.execute("SELECT id, body FROM charges"):
            charge = json.loads(body)
            CHARGES[charge_id] = charge
            BY_KEY[charge["idempotency_key"]] = charge_id
        REPLIES.update((k, json.loads(b)) for k, b in self.db.execute("SELECT id, body FROM replies"))
        REFUNDS.update((k, json.loads(b)) for k, b in self.db.execute("SELECT id, body FROM refunds"))
        for dispute_id, body in self.db.execute("SELECT id, body FROM disputes"):
            dispute = json.loads(body)
            DISPUTES[dispute_id] = dispute
            DISPUTE_OF_CHARGE[dispute["charge"]] = dispute_id
            STATE["seq"] = max(STATE["seq"], dispute["seq"])
        for key, body in self.db.execute("SELECT id, body FROM meta"):
            STATE[key] = json.loads(body)
        if not self.db.execute("SELECT 1 FROM meta WHERE id = 'feed'").fetchone():
            self.db.execute("INSERT INTO meta (id, body) VALUES ('feed', ?)", (json.dumps(STATE["feed"]),))

    def save(self, *, charge: dict[str, Any] | None = None, reply: tuple[str, dict[str, Any]] | None = None,
             refund: dict[str, Any] | None = None, dispute: dict[str, Any] | None = None) -> None:
        """Write the changed records in one transaction."""
        rows = [("charges", charge["id"], charge)] if charge else []
        rows += [("replies", reply[0], reply[1])] if reply else []
        rows += [("refunds", refund["id"], refund)] if refund else []
        rows += [("disputes", dispute["id"], dispute)] if dispute else []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for table, key, body in rows:
                self.db.execute(f"INSERT OR REPLACE INTO {table} (id, body) VALUES (?, ?)", (key, json.dumps(body)))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


class _Memory:
    """No --state: nothing to write."""

    def save(self, **_: Any) -> None:
        return None


STORE: Store | _Memory = _Memory()


def _key(request: Request) -> str:
    key = request.headers.get("idempotency-key", "")
    if not 1 <= len(key) <= 200:
        raise HTTPException(status_code=400, detail="every call needs an Idempotency-Key header")
    return key


def _card_facts(card: dict[str, Any]) -> dict[str, Any]:
    number = str(card.get("number", ""))
    fingerprint = hmac.new(STATE["secret"], number.encode(), hashlib.sha256).hexdigest()[:16]
    return {"brand": brand(number), "last4": number[-4:], "exp_month": card.get("exp_month"),
            "exp_year": card.get("exp_year"), "country": "US", "fingerprint": fingerprint}


def _decide(card: dict[str, Any]) -> tuple[str, str | None]:
    number = str(card.get("number", ""))
    if not number.isdigit() or not luhn_ok(number):
        return "declined", "incorrect_number"
    known = BY_NUMBER.get(number)
    if known and known.outcome == "declined":
        return "declined", known.decline_code
    now = clock.wall()
    if (int(card.get("exp_year", 0)), int(card.get("exp_month", 0))) < (now.year, now.month):
        return "declined", "expired_card"
    return "succeeded", None


@post("/v1/charges", status_code=200)
async def create_charge(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(request)
    if key in BY_KEY:
        return CHARGES[BY_KEY[key]]
    card = data.get("card") or {}
    outcome, decline = _decide(card)
    capture = bool(data.get("capture", True))
    amount = int(data["amount"])
    status = "declined" if outcome == "declined" else ("succeeded" if capture else "authorized")
    known = BY_NUMBER.get(str(card.get("number", "")))
    charge: dict[str, Any] = {
        "id": "ch_" + secrets.token_hex(12), "idempotency_key": key, "reference": data.get("reference"),
        "status": status, "amount": amount, "currency": data.get("currency"),
        "amount_captured": amount if status == "succeeded" else 0, "amount_refunded": 0,
        "decline_code": decline, "card": _card_facts(card),
        "disputed": False, "created": int(clock.wall().timestamp()),
        # A dispute card's charge is disputed once it is paid (now, or when it is captured).
        "dispute_after": ({"reason": known.dispute_reason, "inquiry": known.outcome == "inquiry"}
                          if known and known.outcome in ("dispute", "inquiry") and status != "declined" else None),
    }
    STORE.save(charge=charge)  # on disk before it is answered: a restarted simulator still knows it
    CHARGES[charge["id"]] = charge  # recorded before any await: a duplicate request sees it
    BY_KEY[key] = charge["id"]
    if status == "succeeded" and charge["dispute_after"]:
        _open_dispute(charge, **charge["dispute_after"])
    if STATE["latency"]:
        await asyncio.sleep(STATE["latency"])
    if known and known.outcome == "timeout":
        await asyncio.sleep(STATE["timeout_delay"])  # the charge is made; the answer is late
    return charge


@get("/v1/charges")
async def list_charges(reference: str) -> list[dict[str, Any]]:
    return [c for c in CHARGES.values() if c["reference"] == reference]


@get("/v1/charges/by-key/{key:str}")
async def charge_by_key(key: str) -> dict[str, Any]:
    if key not in BY_KEY:
        raise HTTPException(status_code=404, detail="no charge with this idempotency key")
    return CHARGES[BY_KEY[key]]


@post("/v1/charges/by-key/{key:str}/resolve", status_code=200)
async def resolve(key: str) -> dict[str, Any]:
    """The charge made with this key; if none was made, void the key so a late request cannot charge."""
    if key not in BY_KEY:
        charge: dict[str, Any] = {
            "id": "ch_" + secrets.token_hex(12), "idempotency_key": key, "reference": None, "status": "void",
            "amount": 0, "currency": None, "amount_captured": 0, "amount_refunded": 0,
            "decline_code": "processing_error", "card": None, "disputed": False}
        STORE.save(charge=charge)
        CHARGES[charge["id"]] = charge
        BY_KEY[key] = charge["id"]
    return CHARGES[BY_KEY[key]]


def _charge(charge_id: str) -> dict[str, Any]:
    if charge_id not in CHARGES:
        raise HTTPException(status_code=404, detail="no such charge")
    return CHARGES[charge_id]


@post("/v1/charges/{charge_id:str}/capture", status_code=200)
async def capture(request: Request, charge_id: str, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    charge = _charge(charge_id)
    amount = int(data.get("amount") or charge["amount"])
    if charge["status"] != "authorized" or not 0 < amount <= charge["amount"]:
        raise HTTPException(status_code=409, detail=f"cannot capture a {charge['status']} charge for {amount}")
    changed = {**charge, "status": "succeeded", "amount_captured": amount}
    STORE.save(charge=changed, reply=(key, changed))
    charge.update(changed)
    REPLIES[key] = dict(changed)
    if charge.get("dispute_after"):
        _open_dispute(charge, **charge["dispute_after"])
    return REPLIES[key]


@post("/v1/charges/{charge_id:str}/cancel", status_code=200)
async def cancel(request: Request, charge_id: str) -> dict[str, Any]:
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    charge = _charge(charge_id)
    if charge["status"] != "authorized":
        raise HTTPException(status_code=409, detail=f"cannot cancel a {charge['status']} charge")
    changed = {**charge, "status": "canceled"}
    STORE.save(charge=changed, reply=(key, changed))
    charge.update(changed)
    REPLIES[key] = dict(changed)
    return REPLIES[key]


@post("/v1/refunds", status_code=200)
async def refund(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    charge = _charge(str(data.get("charge")))
    amount = int(data["amount"])
    if charge["status"] != "succeeded" or amount <= 0 or charge["amount_refunded"] + amount > charge["amount_captured"]:
        raise HTTPException(status_code=409, detail="refund exceeds what remains of the charge")
    made = {"id": "re_" + secrets.token_hex(12), "charge": charge["id"], "amount": amount, "status": "succeeded"}
    changed = {**charge, "amount_refunded": charge["amount_refunded"] + amount}
    STORE.save(charge=changed, reply=(key, made), refund=made)
    charge.update(changed)
    REFUNDS[made["id"]] = made
    REPLIES[key] = made
    return made


# --- disputes -----------------------------------------------------------------------------------

def _now() -> float:
    return clock.wall().timestamp()


def _changed(dispute: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Apply a change under the next sequence number, on disk first."""
    STATE["seq"] += 1
    changed = {**dispute, **changes, "seq": STATE["seq"], "updated": int(_now())}
    STORE.save(dispute=changed)
    DISPUTES[changed["id"]] = changed
    DISPUTE_OF_CHARGE[changed["charge"]] = changed["id"]
    return changed


def _open_dispute(charge: dict[str, Any], reason: str | None, inquiry: bool = False,
                  amount: int | None = None) -> dict[str, Any]:
    """The charge's dispute: opened now, or the one it already has (a charge is disputed once)."""
    if charge["id"] in DISPUTE_OF_CHARGE:
        return DISPUTES[DISPUTE_OF_CHARGE[charge["id"]]]
    charge.update(disputed=True)
    STORE.save(charge=charge)
    return _changed({
        "id": "dp_" + secrets.token_hex(12), "object": "dispute", "charge": charge["id"],
        "reference": charge["reference"], "amount": amount or charge["amount_captured"] - charge["amount_refunded"],
        "currency": charge["currency"], "reason": reason or "general",
        "status": "warning_needs_response" if inquiry else "needs_response", "evidence": None,
        "decide_at": None, "created": int(_now()),
    })


def _decide_due() -> None:
    """Decide the disputes whose evidence has waited long enough (Stripe's test convention)."""
    now = _now()
    for dispute in list(DISPUTES.values()):
        if dispute["decide_at"] is None or dispute["decide_at"] > now:
            continue
        text = json.dumps(dispute["evidence"] or {})
        inquiry = dispute["status"].startswith("warning_")
        if "winning_evidence" in text:
            status = "warning_closed" if inquiry else "won"
        elif "losing_evidence" in text:
            status = "needs_response" if inquiry else "lost"  # an inquiry lost escalates to a chargeback
        else:
            status = dispute["status"]  # no word from the issuer: it stays under review
        _changed(dispute, status=status, decide_at=None, evidence=None if status == "needs_response" else
                 dispute["evidence"])


def _dispute(dispute_id: str) -> dict[str, Any]:
    if dispute_id not in DISPUTES:
        raise HTTPException(status_code=404, detail="no such dispute")
    return DISPUTES[dispute_id]


@post("/v1/charges/{charge_id:str}/disputes", status_code=200)
async def dispute_charge(request: Request, charge_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Open a dispute on a paid charge (the test helper's way to make the cardholder dispute)."""
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    charge = _charge(charge_id)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    amount = int(data.get("amount") or remaining)
    if charge["status"] != "succeeded" or not 0 < amount <= remaining:
        raise HTTPException(status_code=409, detail=f"cannot dispute {amount} of a {charge['status']} charge "
                                                    f"with {remaining} left")
    made = _open_dispute(charge, str(data.get("reason") or "general"), bool(data.get("inquiry")), amount)
    STORE.save(reply=(key, made))
    REPLIES[key] = made
    return made


@get("/v1/disputes")
async def dispute_feed(after: int = 0, limit: int = 100) -> dict[str, Any]:
    """Disputes changed after sequence number `after`, in sequence order (each at its latest state)."""
    _decide_due()
    changed = sorted((d for d in DISPUTES.values() if d["seq"] > after), key=lambda d: d["seq"])
    return {"feed": STATE["feed"], "data": changed[:limit], "has_more": len(changed) > limit}


@get("/v1/disputes/{dispute_id:str}")
async def get_dispute(dispute_id: str) -> dict[str, Any]:
    _decide_due()
    return _dispute(dispute_id)


@post("/v1/disputes/{dispute_id:str}/evidence", status_code=200)
async def submit_evidence(request: Request, dispute_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Evidence for the issuer: under review now, decided `decision_delay` seconds later."""
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    dispute = _dispute(dispute_id)
    if dispute["status"] not in ("needs_response", "warning_needs_response"):
        raise HTTPException(status_code=409, detail=f"cannot submit evidence to a {dispute['status']} dispute")
    review = "warning_under_review" if dispute["status"].startswith("warning_") else "under_review"
    made = _changed(dispute, status=review, evidence=data.get("evidence") or {},
                    decide_at=_now() + STATE["decision_delay"])
    STORE.save(reply=(key, made))
    REPLIES[key] = made
    return made


@post("/v1/disputes/{dispute_id:str}/close", status_code=200)
async def close_dispute(request: Request, dispute_id: str) -> dict[str, Any]:
    """The merchant accepts: a chargeback is lost, an inquiry closed."""
    key = _key(request)
    if key in REPLIES:
        return REPLIES[key]
    dispute = _dispute(dispute_id)
    if dispute["status"] not in ("needs_response", "warning_needs_response"):
        raise HTTPException(status_code=409, detail=f"cannot close a {dispute['status']} dispute")
    made = _changed(dispute, status="warning_closed" if dispute["status"].startswith("warning_") else "lost")
    STORE.save(reply=(key, made))
    REPLIES[key] = made
    return made


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([create_charge, list_charges, charge_by_key, resolve, capture, cancel, refund, dispute_charge,
               dispute_feed, get_dispute, submit_evidence, close_dispute, healthz], debug=False)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Paydeck's card-processor simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--secret", default="", help="secret for card fingerprints (random if empty)")
    parser.add_argument("--timeout-delay", type=float, default=30.0, help="seconds the timeout card waits")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency of every charge")
    parser.add_argument("--state", default="", help="SQLite file keeping charges across restarts (memory if empty)")
    parser.add_argument("--dispute-decision-seconds", type=float, default=5.0,
                        help="how long after evidence a dispute is decided")
    args = parser.parse_args()
    global STORE
    if args.state:
        STORE = Store(args.state)
        STORE.load()
    STATE.update(secret=(args.secret or secrets.token_hex(16)).encode(), timeout_delay=args.timeout_delay,
                 latency=args.latency_ms / 1000, decision_delay=args.dispute_decision_seconds)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
