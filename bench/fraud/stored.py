"""Stored evaluations for the backtest benchmark: made by the real engine, written with COPY.

Two thousand decisions are made by `server.fraud.engine` from varied buyers (cards, emails,
countries, amounts, velocity from quiet to bursts) and stored as the service stores them;
the million rows repeat them at random times over the period, so every row has the width
and the value mix of a real one.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import asyncpg

from server import clock
from server.context import Scope
from server.fraud import engine
from server.fraud.inputs import CardFacts, Subject, Usual, base_signals
from server.fraud.lists import DEFAULT_RULES
from server.fraud.storage import to_stored
from server.fraud.velocity import VelocityCounts, WindowTotals
from server.ids import new_id

COLUMNS = ("id", "account_id", "livemode", "object_type", "object_id", "score", "level", "outcome", "rule_id",
           "explanation", "signals", "created")
COUNTRIES = ["US"] * 8 + ["GB", "DE", "FR", "BR", "NG", "IN"]
IPS = {"US": "8.8.8.8", "GB": "81.2.69.142", "DE": "85.214.132.117", "FR": "90.84.0.1", "BR": "177.0.0.1",
       "NG": "41.58.0.1", "IN": "49.32.0.1"}
WINDOWS = ("minutely", "hourly", "daily", "weekly")


def _velocity(rng: random.Random, burst: bool) -> dict[str, Any]:
    totals: dict[str, dict[str, WindowTotals]] = {}
    distinct: dict[tuple[str, str], dict[str, int]] = {}
    kinds = ("card", "customer", "email", "ip_address")
    for kind in kinds:
        count = 1
        totals[kind] = {}
        for window in WINDOWS:
            count += rng.randrange(0, 12 if burst else 2)
            totals[kind][window] = WindowTotals(count, count * rng.randrange(500, 20_000))
        for other in kinds:
            if other != kind:
                seen = 1
                distinct[(other, kind)] = {}
                for window in WINDOWS:
                    seen += rng.randrange(0, 6 if burst else 1)
                    distinct[(other, kind)][window] = seen
    return VelocityCounts(totals, distinct).signals()


def decisions(scope: Scope, n: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rules = [engine.parsed(text).with_options(id=f"rr_default{i}") for i, text in enumerate(DEFAULT_RULES)]
    made = []
    for i in range(n):
        card_country, ip_country = rng.choice(COUNTRIES), rng.choice(COUNTRIES)
        card = CardFacts(fingerprint=f"{rng.getrandbits(128):032x}", brand=rng.choice(["visa", "mastercard"]),
                         country=card_country, funding="credit", reported_stolen=rng.random() < 0.005,
                         shared_test_card=False)
        subject = Subject("payment", f"pi_bench{i}", rng.choice([999, 1999, 4900, 25_000, 90_000]), "usd",
                          customer=f"cus_bench{rng.randrange(500)}", email=f"buyer{rng.randrange(5000)}@example.com",
                          ip_address=IPS[ip_country], user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                          card=card)
        usual = Usual(rng.randrange(0, 20), float(rng.choice([999, 1999, 4900])))
        base = base_signals(subject, usual, subject.amount / 100)
        decided = engine.assess("rsk_bench", subject, base, _velocity(rng, rng.random() < 0.03), rules, [],
                                clock.PAYMENTS.now())
        made.append({"score": decided.score.score, "level": decided.score.level, "outcome": decided.outcome,
                     "rule_id": decided.decision.rule.id if decided.decision.rule else None,
                     "explanation": decided.explanation(), "signals": to_stored(decided.signals)})
    return made


async def write_evaluations(scope: Scope, rows: int, days: int, batch: int = 20_000) -> None:
    from server import db

    templates = decisions(scope, 2000)
    rng = random.Random(5)
    now = clock.PAYMENTS.now()
    span = timedelta(days=days).total_seconds()
    conn: asyncpg.Connection = await db.engine().get_new_connection()
    try:
        written = 0
        while written < rows:
            records = []
            for _ in range(min(batch, rows - written)):
                t = templates[rng.randrange(len(templates))]
                records.append((new_id("rsk"), scope.account_id, scope.livemode, "payment_intent", new_id("pi"),
                                t["score"], t["level"], t["outcome"], t["rule_id"], t["explanation"], t["signals"],
                                now - timedelta(seconds=rng.random() * span)))
            await conn.copy_records_to_table("risk_evaluations", records=records, columns=COLUMNS)
            written += len(records)
    finally:
        await conn.close()


async def analyze() -> None:
    from server import db

    await db.execute("VACUUM ANALYZE risk_evaluations")


async def count(scope: Scope, period: timedelta) -> int:
    """The reference: a plain count of the same rows a backtest reads."""
    from server import db

    until = clock.PAYMENTS.now()
    row = await db.fetchrow("SELECT count(*) AS n FROM risk_evaluations WHERE account_id = $1 AND livemode = $2 "
                            "AND created > $3 AND created <= $4", scope.account_id, scope.livemode,
                            until - period, until)
    assert row is not None
    return int(row["n"])
