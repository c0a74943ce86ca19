"""A Hypothesis state machine drives the real API over HTTP and checks it against an in-memory model.

Rules: create, credit, transfer (same and cross currency), close, retry with the
same Idempotency-Key, retry with changed parameters. After every step the
ledger's invariants are checked in PostgreSQL: postings sum to zero per entry
and currency, every balance equals the sum of its postings, no forbidden
negative balance, and accepted calls = journal entries.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from tests.factories import new_account, user_ctx

RATE = {("USD", "EUR"): (1, 2)}  # 0.5, no spread: to_amount = amount // 2


class Harness:
    """Thread-side handles: a sync HTTP client and a private event loop with one DB connection."""

    def __init__(self, base_url: str, key: str, account_id: str, database_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        self.account_id = account_id
        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(database_url))
        self.accepted = 0

    def request(self, method: str, path: str, body: Any = None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        while True:
            resp = self.http.request(method, path, json=body, headers=headers)
            if resp.status_code != 429:
                return resp
            time.sleep(float(resp.headers.get("retry-after", "1")))

    def sql(self, query: str, *args: Any) -> list[Any]:
        return self.loop.run_until_complete(self.conn.fetch(query, *args))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()
        self.http.close()


H: Harness | None = None


class LedgerMachine(RuleBasedStateMachine):
    customers = Bundle("customers")
    sent = Bundle("sent")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, dict[str, Any]] = {}
        self.tx_ids: list[str] = []
        self.prefix = secrets.token_hex(4)

    @property
    def h(self) -> Harness:
        assert H is not None
        return H

    @rule(target=customers)
    def create(self) -> str:
        resp = self.h.request("POST", "/v1/customers", {"name": "m"})
        assert resp.status_code == 200
        cid = resp.json()["id"]
        self.model[cid] = {"status": "active", "balances": {}}
        return cid

    def _expect(self, resp: httpx.Response, status: int) -> None:
        assert resp.status_code == status, (status, resp.status_code, resp.text)

    @rule(target=sent, customer=customers, amount=st.integers(1, 5000), currency=st.sampled_from(["USD", "EUR"]),
          reuse=st.booleans())
    def credit(self, customer: str, amount: int, currency: str, reuse: bool) -> tuple:
        tx = self.tx_ids[0] if reuse and self.tx_ids else f"tx_{self.prefix}_{len(self.tx_ids)}"
        key = f"{self.prefix}-c-{secrets.token_hex(4)}"
        body = {"amount": amount, "currency": currency, "transaction_id": tx}
        resp = self.h.request("POST", f"/v1/customers/{customer}/credits", body, key)
        state = self.model[customer]
        if state["status"] == "closed":
            self._expect(resp, 409)
        elif tx in self.tx_ids:
            self._expect(resp, 422)
        else:
            self._expect(resp, 202)
            self.tx_ids.append(tx)
            state["balances"][currency] = state["balances"].get(currency, 0) + amount
            self.h.accepted += 1
            assert resp.json()["current_balance"] == state["balances"][currency]
        return (f"/v1/customers/{customer}/credits", body, key, resp.status_code, resp.text)

    @rule(target=sent, src=customers, dst=customers, amount=st.integers(1, 3000),
          pair=st.sampled_from([("USD", "USD"), ("EUR", "EUR"), ("USD", "EUR")]))
    def transfer(self, src: str, dst: str, amount: int, pair: tuple[str, str]) -> tuple:
        cur, to_cur = pair
        body = {"from_customer": src, "to_customer": dst, "amount": amount, "currency": cur, "to_currency": to_cur}
        key = f"{self.prefix}-t-{secrets.token_hex(4)}"
        resp = self.h.request("POST", "/v1/transfers", body, key)
        s, d = self.model[src], self.model[dst]
        to_amount = amount if cur == to_cur else amount * RATE[(cur, to_cur)][0] // RATE[(cur, to_cur)][1]
        if src == dst and cur == to_cur or to_amount == 0:
            self._expect(resp, 400)
        elif s["status"] != "active" or d["status"] == "closed":
            self._expect(resp, 409)
        elif s["balances"].get(cur, 0) < amount:
            self._expect(resp, 402)
        else:
            self._expect(resp, 200)
            s["balances"][cur] -= amount
            d["balances"][to_cur] = d["balances"].get(to_cur, 0) + to_amount
            self.h.accepted += 1
            assert resp.json()["to_amount"] == to_amount
        return ("/v1/transfers", body, key, resp.status_code, resp.text)

    @rule(customer=consumes(customers))
    def close(self, customer: str) -> None:
        resp = self.h.request("DELETE", f"/v1/customers/{customer}")
        state = self.model[customer]
        if state["status"] == "closed":
            self._expect(resp, 409)
        elif any(state["balances"].values()):
            self._expect(resp, 409)
            assert resp.json()["error"]["code"] == "balance_not_zero"
        else:
            self._expect(resp, 200)
            state["status"] = "closed"

    @rule(call=sent)
    def retry_same_key(self, call: tuple) -> None:
        path, body, key, status, text = call
        resp = self.h.request("POST", path, body, key)
        assert resp.status_code == status and resp.text == text
        assert resp.headers["idempotent-replayed"] == "true"

    @rule(call=sent)
    def retry_changed_parameters(self, call: tuple) -> None:
        path, body, key, _, _ = call
        resp = self.h.request("POST", path, {**body, "amount": body["amount"] + 1}, key)
        assert resp.status_code == 400 and resp.json()["error"]["type"] == "idempotency_error"

    @invariant()
    def ledger_is_consistent(self) -> None:
        h, acct = self.h, self.h.account_id
        unbalanced = h.sql("SELECT entry_id FROM postings WHERE account_id = $1 GROUP BY entry_id, currency "
                           "HAVING sum(amount) <> 0", acct)
        assert unbalanced == []
        drift = h.sql("SELECT la.id FROM ledger_accounts la LEFT JOIN postings p ON p.ledger_account_id = la.id "
                      "WHERE la.account_id = $1 GROUP BY la.id, la.balance "
                      "HAVING la.balance <> coalesce(sum(p.amount), 0)", acct)
        assert drift == []
        negative = h.sql("SELECT id FROM ledger_accounts WHERE account_id = $1 AND NOT allow_negative "
                         "AND balance < 0", acct)
        assert negative == []
        entries = h.sql("SELECT count(*) AS n FROM journal_entries WHERE account_id = $1", acct)[0]["n"]
        assert entries == h.accepted
        for cid, state in self.model.items():
            rows = h.sql("SELECT currency, balance FROM ledger_accounts WHERE account_id = $1 AND owner_id = $2",
                         acct, cid)
            actual = {r["currency"]: r["balance"] for r in rows if r["balance"]}
            assert actual == {c: v for c, v in state["balances"].items() if v}


async def test_the_ledger_matches_its_model(http, infrastructure):
    global H
    from server.ledger import fx

    account = await new_account()
    await fx.set_rate(user_ctx(account.account["id"], account.user["id"]), "USD", "EUR", "0.5", 0)
    H = await asyncio.to_thread(Harness, str(http.base_url), account.keys["secret_test"], account.account["id"],
                                infrastructure["database_url"])
    machine = settings(max_examples=12, stateful_step_count=25, deadline=None,
                       suppress_health_check=list(HealthCheck))(LedgerMachine)
    try:
        await asyncio.to_thread(machine.TestCase().runTest)
    finally:
        await asyncio.to_thread(H.close)
        H = None
