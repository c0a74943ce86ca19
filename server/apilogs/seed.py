"""Realistic synthetic log records for demos and benchmarks (`paydeck seed-logs --rows N`).

Rows go straight into the table by COPY in the writer's column order, spread
over the last `days` days; bodies look like payment API traffic and are
already free of secrets (cards appear only as last4).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from server import clock
from server.apilogs import partitions, queries
from server.apilogs.records import API_VERSION, search_lexemes
from server.ids import new_id

ROUTES = [
    ("GET", "/v1/customers", 14), ("POST", "/v1/customers", 6), ("GET", "/v1/customers/{cus}", 10),
    ("POST", "/v1/payment_intents", 12), ("POST", "/v1/payment_intents/{pi}/confirm", 10),
    ("GET", "/v1/payment_intents/{pi}", 10), ("POST", "/v1/refunds", 3), ("GET", "/v1/events", 6),
    ("GET", "/v1/balance", 4), ("POST", "/v1/transfers", 3), ("GET", "/v1/account", 2),
    ("POST", "/graphql", 8), ("GET", "/v1/request_logs", 2),
]
ERRORS = [
    (400, "invalid_request_error", "parameter_invalid", "amount must be a positive integer"),
    (402, "card_error", "card_declined", "Your card was declined."),
    (404, "invalid_request_error", "resource_missing", "No such customer: '{cus}'"),
    (409, "idempotency_error", "idempotency_error", "Keys for idempotent requests can only be used once"),
    (422, "invalid_request_error", "unprocessable", "transaction was already processed"),
    (429, "rate_limit_error", "rate_limited", "too many requests for this API key"),
    (500, "api_error", "internal_error", "an internal error occurred"),
]
NAMES = ["Jenny Rosen", "Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling",
         "Marie Curie", "Nikola Tesla", "Rosalind Franklin", "Tim Berners-Lee"]
WORDS = ["order", "invoice", "subscription", "coffee", "books", "shipping", "gift", "premium", "annual", "refund"]


def _weighted_routes(rng: random.Random) -> Iterator[tuple[str, str]]:
    population = [(m, p) for m, p, _ in ROUTES]
    weights = [w for _, _, w in ROUTES]
    while True:
        yield from rng.choices(population, weights, k=1024)


def rows(account_id: str, livemode: bool, count: int, days: float, key_ids: list[str],
         seed: int = 7, now: datetime | None = None) -> Iterator[tuple]:
    rng = random.Random(seed)
    now = now or clock.now()
    span_ms = int(days * 86_400_000)
    routes = _weighted_routes(rng)
    start_ms = int(now.timestamp() * 1000) - span_ms
    for i in range(count):
        at_ms = start_ms + (span_ms * i) // max(count, 1) + rng.randrange(0, 50)
        method, template = next(routes)
        cus, pi = new_id("cus", at_ms - 86_400_000), new_id("pi", at_ms - 3_600_000)
        path = template.format(cus=cus, pi=pi)
        name = rng.choice(NAMES)
        amount = rng.choice([500, 1299, 2000, 4999, 15000, 99])
        request_body = ""
        if method == "POST":
            request_body = json.dumps({"amount": amount, "currency": "usd", "customer": cus,
                                       "description": f"{rng.choice(WORDS)} {rng.choice(WORDS)} for {name}",
                                       "metadata": {"order_id": f"ord_{rng.randrange(10**6)}"}})
        status, error_type, error_code, message = 200, None, None, None
        if rng.random() < 0.08:
            status, error_type, error_code, message = rng.choice(ERRORS)
            message = message.format(cus=cus)
            response_body = json.dumps({"error": {"type": error_type, "code": error_code, "message": message}})
        else:
            response_body = json.dumps({"id": pi if "payment" in path else cus, "object": "payment_intent",
                                        "amount": amount, "status": "succeeded", "livemode": livemode,
                                        "name": name, "card": {"brand": "visa", "last4": "4242"}})
        key = rng.choice(key_ids)
        idem = f"idem_{rng.randrange(10**9)}" if method == "POST" and rng.random() < 0.5 else None
        started = datetime.fromtimestamp(at_ms / 1000, UTC)
        request_id = new_id("req", at_ms)
        yield (
            request_id, account_id, livemode, "api", None, key, "secret", method, path,
            "Checkout" if path == "/graphql" else None, "mutation" if path == "/graphql" else None,
            {}, {"content-type": "application/json", "authorization": "[REDACTED]",
                 "user-agent": "paydeck-python/1.4"}, request_body, status,
            {"content-type": "application/json"}, response_body, error_type, error_code, message,
            started, round(rng.lognormvariate(3.0, 0.6), 3), API_VERSION, idem, False, "203.0.113.7",
            [x for x in (cus, pi) if x in path or x in response_body],
            search_lexemes(request_id, path, "Checkout" if path == "/graphql" else None, message, request_body,
                           response_body),
        )


async def seed(account_id: str, count: int, days: float = 7, livemode: bool = False, batch: int = 10_000,
               key_ids: list[str] | None = None, now: datetime | None = None) -> int:
    """Write `count` records; returns how many were written."""
    now = now or clock.now()
    day = (now - timedelta(days=days)).date()
    while day <= now.date():
        await partitions.ensure(day)
        day += timedelta(days=1)
    keys = key_ids or [f"key_seed{i}" for i in range(5)]
    pending: list[tuple] = []
    written = 0
    for row in rows(account_id, livemode, count, days, keys, now=now):
        pending.append(row)
        if len(pending) >= batch:
            await queries.copy_rows(pending)
            written += len(pending)
            pending = []
    if pending:
        await queries.copy_rows(pending)
        written += len(pending)
    return written
