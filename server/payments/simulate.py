"""Demo traffic: test-mode customers, payments with a mix of outcomes, captures and refunds, over the real API.

`paydeck simulate --rate N` runs it against a running Paydeck; `paydeck run
--demo` runs it inside the app at a gentle rate so the dashboard is alive on
first start. It uses a test-mode secret key, so nothing touches live data.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time

import httpx

log = logging.getLogger(__name__)

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Margaret"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Hamilton"]
ITEMS = ["Espresso beans", "Ceramic mug", "Pour-over kit", "Gift card", "Tea sampler", "Monthly subscription",
         "Grinder", "Cold brew bottle"]
# (card number, weight): mostly successes, each decline now and then, a rare timeout and dispute.
CARDS = [("4242424242424242", 60), ("5555555555554444", 15), ("378282246310005", 5), ("4000000000000002", 4),
         ("4000000000009995", 4), ("4000000000000127", 2), ("4000000000000069", 2), ("4100000000000019", 2),
         ("4000000000000259", 1)]


class Traffic:
    def __init__(self, client: httpx.AsyncClient, rng: random.Random | None = None) -> None:
        self.client = client
        self.rng = rng or random.Random()
        self.customers: list[str] = []
        self.succeeded: list[tuple[str, int]] = []
        self.counts: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def customer(self) -> str:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        resp = await self.client.post("/v1/customers", json={
            "name": f"{first} {last}", "email": f"{first}.{last}.{secrets.token_hex(3)}@example.com".lower()})
        resp.raise_for_status()
        self.customers.append(resp.json()["id"])
        self._count("customers")
        return self.customers[-1]

    async def payment(self) -> None:
        customer = None
        if self.customers and self.rng.random() < 0.7:
            customer = self.rng.choice(self.customers)
        elif self.rng.random() < 0.5:
            customer = await self.customer()
        manual = self.rng.random() < 0.1
        amount = self.rng.choice([500, 1200, 1999, 2500, 4900, 9900, 15000]) + self.rng.randint(0, 99)
        body = {"amount": amount, "currency": self.rng.choice(["usd"] * 8 + ["eur", "gbp"]),
                "description": self.rng.choice(ITEMS), "capture_method": "manual" if manual else "automatic"}
        if customer:
            body["customer"] = customer
        pi = (await self.client.post("/v1/payment_intents", json=body)).json()
        number = self.rng.choices([c for c, _ in CARDS], [w for _, w in CARDS])[0]
        card = {"number": number, "exp_month": self.rng.randint(1, 12), "exp_year": 2030 + self.rng.randint(0, 5),
                "cvc": "123"}
        done = (await self.client.post(f"/v1/payment_intents/{pi['id']}/confirm", json={"card": card})).json()
        if done.get("status") == "requires_capture":
            part = self.rng.choice([done["amount"], done["amount"] // 2])
            done = (await self.client.post(f"/v1/payment_intents/{pi['id']}/capture",
                                           json={"amount_to_capture": part})).json()
        self._count(f"payments_{done.get('status', 'error')}")
        if done.get("status") == "succeeded":
            self.succeeded.append((done["id"], done["amount_received"]))
            self.succeeded = self.succeeded[-200:]

    async def refund(self) -> None:
        if not self.succeeded:
            return
        pi_id, amount = self.succeeded.pop(self.rng.randrange(len(self.succeeded)))
        part = amount if self.rng.random() < 0.5 else max(1, amount // 3)
        resp = await self.client.post("/v1/refunds", json={"payment_intent": pi_id, "amount": part,
                                                            "reason": "requested_by_customer"})
        self._count("refunds" if resp.status_code == 200 else "refunds_refused")

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.08 or not self.customers:
            await self.customer()
        elif roll < 0.16:
            await self.refund()
        else:
            await self.payment()


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception():
        log.warning("demo traffic step failed: %s", task.exception())


async def run(base_url: str, secret_key: str, rate: float, duration: float | None = None,
              stop: asyncio.Event | None = None) -> dict[str, int]:
    """Perform about `rate` actions per second until `duration` passes or `stop` is set."""
    headers = {"Authorization": f"Bearer {secret_key}"}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        traffic = Traffic(client)
        pending: set[asyncio.Task] = set()
        while (duration is None or time.monotonic() - started < duration) and not (stop and stop.is_set()):
            task = asyncio.create_task(traffic.step())
            pending.add(task)
            task.add_done_callback(pending.discard)
            task.add_done_callback(_log_failure)
            await asyncio.sleep(traffic.rng.expovariate(rate))
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return traffic.counts


def start_in_background(base_url: str, secret_key: str, rate: float) -> None:
    """For `paydeck run --demo`: a daemon thread that waits for the app, then sends gentle traffic."""
    import threading

    def main() -> None:
        async def go() -> None:
            async with httpx.AsyncClient(base_url=base_url) as client:
                for _ in range(600):
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.5)
            # Stops once the app starts shutting down (Ctrl-C): steps sent to a server already gone would only
            # fail and be logged as warnings. Read from this thread, the event is a plain flag.
            from server import health

            await run(base_url, secret_key, rate, stop=health.draining)

        try:
            asyncio.run(go())
        except Exception:
            log.exception("demo traffic stopped")

    threading.Thread(target=main, name="demo-traffic", daemon=True).start()
