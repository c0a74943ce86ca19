"""Shared helpers of the payments tests: real accounts, real keys, the real processor."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import new_account

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def card(number: str, **overrides: Any) -> dict[str, Any]:
    return {**CARD, "number": number, **overrides}


class Merchant:
    def __init__(self, http: httpx.AsyncClient, account) -> None:
        self.http = http
        self.account = account
        self.headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
        self.pk_headers = {"Authorization": f"Bearer {account.keys['publishable_test']}"}

    @property
    def id(self) -> str:
        return self.account.account["id"]

    async def post(self, path: str, body: dict | None = None, headers: dict | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers={**self.headers, **(headers or {})})

    async def get(self, path: str, **params) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)

    async def intent(self, amount: int = 1000, **body: Any) -> dict[str, Any]:
        resp = await self.post("/v1/payment_intents", {"amount": amount, "currency": "usd", **body})
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def confirm(self, pi_id: str, number: str = "4242424242424242", **extra: Any) -> httpx.Response:
        return await self.post(f"/v1/payment_intents/{pi_id}/confirm", {"card": card(number), **extra})

    async def paid(self, amount: int = 1000, number: str = "4242424242424242", **body: Any) -> dict[str, Any]:
        pi = await self.intent(amount, **body)
        resp = await self.confirm(pi["id"], number)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def balance(self, currency: str = "usd") -> int:
        resp = await self.get("/v1/balance")
        assert resp.status_code == 200, resp.text
        return sum(b["amount"] for b in resp.json()["available"] if b["currency"].lower() == currency)


async def merchant(http: httpx.AsyncClient, **overrides: Any) -> Merchant:
    return Merchant(http, await new_account(**overrides))
