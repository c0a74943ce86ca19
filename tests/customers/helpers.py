"""Shared helpers of the customer and ledger tests: an account with a key, REST calls."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from server.accounts.service import NewAccount
from tests.factories import new_account


@dataclass
class Api:
    http: httpx.AsyncClient
    account: NewAccount
    mode: str = "test"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.keys['secret_' + self.mode]}"}

    async def post(self, path: str, body: Any = None, key: str | None = None, **kw) -> httpx.Response:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.http.post(path, json=body if body is not None else {}, headers=headers, **kw)

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.http.get(path, headers=self.headers, **kw)

    async def customer(self, **fields) -> dict[str, Any]:
        resp = await self.post("/v1/customers", {"name": "Ada", **fields})
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def credit(self, customer_id: str, amount: int, currency: str = "USD",
                     transaction_id: str | None = None) -> httpx.Response:
        return await self.post(f"/v1/customers/{customer_id}/credits",
                               {"amount": amount, "currency": currency,
                                "transaction_id": transaction_id or f"tx_{secrets.token_hex(8)}"})

    async def balance(self, customer_id: str, currency: str = "USD") -> int:
        body = (await self.get(f"/v1/customers/{customer_id}/balance")).json()
        return next((b["amount"] for b in body["available"] if b["currency"] == currency), 0)


async def api(http: httpx.AsyncClient, mode: str = "test") -> Api:
    return Api(http, await new_account(), mode)
