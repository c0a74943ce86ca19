"""Money under faults, with real processes: a full pool, a crash right after a commit, Redis wiped, races.

- 200 keyed confirm/refund/capture/cancel requests at once against `paydeck web`
  with a pool of 5: none hangs (each gets its answer, or 503 with Retry-After and
  then its answer), another account is served meanwhile, each effect happens once.
- The process dies (exit, like kill -9) right after a payment path's first
  commit; restarted, the retry with the same key acts once (no double refund).
- Redis FLUSHALL in the middle of keyed traffic: idempotency holds (it lives in
  PostgreSQL).
- Concurrent confirm/capture/cancel/refund of one intent, with and without keys:
  one winner, the ledger balanced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import db, embedded
from server.payments import service
from server.payments.processor import processor
from server.payments.serial import intent_json
from tests.factories import user_ctx
from tests.payments.helpers import CARD, Merchant, merchant

PAYDECK = Path(sys.executable).parent / "paydeck"
HANG = 180  # seconds: a burst still running after this is wedged, not slow


@contextlib.asynccontextmanager
async def paydeck_web(tmp_path: Path, **env: str) -> AsyncIterator[tuple[str, subprocess.Popen]]:
    """`paydeck web` as its own process on the test database; stopped (or already dead) at the end."""
    port = embedded.free_port()
    proc = _start(port, tmp_path / f"web-{port}.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        await _ready(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def _start(port: int, log: Path, env: dict[str, str]) -> subprocess.Popen:
    settings = {"PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000", "PAYDECK_PORT": str(port),
                "PAYDECK_SHUTDOWN_GRACE_SECONDS": "1", "PAYDECK_TEST_FAULTS": "true", **env}
    with log.open("ab") as out:
        # One web process: the fault kills *the* process, whose exit code the tests read.
        return subprocess.Popen([str(PAYDECK), "web", "--port", str(port), "--processes", "1"],
                                env={**os.environ, **settings},
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def _ready(url: str, proc: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            assert proc.poll() is None, "paydeck web exited during start-up"
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("paydeck web did not start")


async def until_answered(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str],
                         unavailable: list[int] | None = None) -> httpx.Response:
    """Send as a careful client does, until the answer is final: every 5xx is retried with the same key
    (a 503 must carry Retry-After), and so is a key still running (409), and a request whose connection was
    dropped (a kept-alive connection the server closed as the request went out: the answer never came, and the
    key makes sending it again safe). A timeout stays an error: that is what a wedge looks like."""
    for _ in range(500):
        try:
            resp = await client.post(path, json=body, headers=headers)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            await asyncio.sleep(0.05)
            continue
        if resp.status_code == 503:
            assert resp.json()["error"]["code"] == "service_unavailable" and int(resp.headers["retry-after"]) >= 1
            if unavailable is not None:
                unavailable.append(1)
        elif resp.status_code < 500 and not (
                resp.status_code == 409 and resp.json()["error"]["code"] == "idempotency_key_in_use"):
            return resp
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never got a final answer")


async def ledger_balanced(account_id: str) -> None:
    total = await db.fetchrow("SELECT coalesce(sum(amount), 0) AS s FROM postings WHERE account_id = $1", account_id)
    assert total["s"] == 0
    owed = await db.fetchrow("SELECT coalesce(sum(amount_received - fee - amount_refunded), 0) AS s "
                             "FROM payment_intents WHERE account_id = $1", account_id)
    balance = await db.fetchrow("SELECT coalesce(sum(balance), 0) AS s FROM ledger_accounts WHERE account_id = $1 "
                                "AND purpose = 'merchant_balance'", account_id)
    assert balance["s"] == owed["s"]


async def _intents(m: Merchant, n: int, pay: bool, manual: bool = False) -> list[dict[str, Any]]:
    ctx = user_ctx(m.id, m.account.user["id"])
    made = []
    for _ in range(n):
        pi = await service.create(ctx, 1000, "usd", capture_method="manual" if manual else None)
        made.append(intent_json(await service.confirm(ctx, pi.id, dict(CARD)) if pay else pi))
    return made


async def test_two_hundred_keyed_requests_with_a_pool_of_five_never_wedge(http, infrastructure, tmp_path):
    m = await merchant(http)
    other = await merchant(http)
    to_confirm, to_refund = await _intents(m, 50, pay=False), await _intents(m, 50, pay=True)
    to_capture, to_cancel = await _intents(m, 50, pay=True, manual=True), await _intents(m, 50, pay=True, manual=True)
    burst = ([(f"/v1/payment_intents/{pi['id']}/confirm", {"card": CARD}) for pi in to_confirm]
             + [("/v1/refunds", {"payment_intent": pi["id"], "amount": 300}) for pi in to_refund]
             + [(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 700}) for pi in to_capture]
             + [(f"/v1/payment_intents/{pi['id']}/cancel", {}) for pi in to_cancel])
    keys = [f"burst-{i}-{secrets.token_hex(4)}" for i in range(len(burst))]
    env = {"PAYDECK_DB_POOL_MIN": "1", "PAYDECK_DB_POOL_MAX": "5", "PAYDECK_DB_POOL_TIMEOUT_SECONDS": "0.5",
           "PAYDECK_PROCESSOR_TIMEOUT_SECONDS": "30"}
    unavailable: list[int] = []
    async with paydeck_web(tmp_path, **env) as (url, _), httpx.AsyncClient(
            base_url=url, timeout=HANG, limits=httpx.Limits(max_connections=400)) as client:
        burst_done = asyncio.Event()
        served_meanwhile: list[int] = []

        async def other_account() -> None:
            while not burst_done.is_set():
                made = await until_answered(client, "/v1/payment_intents", {"amount": 500, "currency": "usd"},
                                            {**other.headers, "Idempotency-Key": secrets.token_hex(8)})
                assert made.status_code == 200, made.text
                if not burst_done.is_set():
                    served_meanwhile.append(1)

        async def run_burst() -> list[httpx.Response]:
            try:
                return await asyncio.gather(*[
                    until_answered(client, path, body, {**m.headers, "Idempotency-Key": key}, unavailable)
                    for (path, body), key in zip(burst, keys, strict=True)])
            finally:
                burst_done.set()

        answers, _ = await asyncio.wait_for(asyncio.gather(run_burst(), other_account()), HANG)
        assert [r.status_code for r in answers] == [200] * len(burst), [r.text for r in answers if r.status_code != 200]
        assert served_meanwhile, "another account was not served while the burst ran"
        replays = [await client.post(path, json=body, headers={**m.headers, "Idempotency-Key": key})
                   for (path, body), key in zip(burst, keys, strict=True)]
        assert all(r.headers.get("idempotent-replayed") == "true" for r in replays)
        assert [r.json() for r in replays] == [r.json() for r in answers]

    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM payment_intents WHERE account_id = $1", m.id)}
    for pi in to_confirm:  # charged once; or never, if the reconciler voided a confirmation stuck in the queue
        charges = [c["status"] for c in await processor().charges_for(pi["id"])]
        row = rows[pi["id"]]
        assert (row["status"], charges) in (("succeeded", ["succeeded"]), ("failed", [])), (row["status"], charges)
        assert row["status"] == "succeeded" or row["failure_code"] == "processing_error"
    assert {rows[pi["id"]]["status"] for pi in to_capture} == {"succeeded"}
    assert {rows[pi["id"]]["amount_received"] for pi in to_capture} == {700}
    assert {rows[pi["id"]]["status"] for pi in to_cancel} == {"canceled"}
    assert {rows[pi["id"]]["amount_refunded"] for pi in to_refund} == {300}
    refunds = await db.fetch("SELECT payment_intent_id FROM refunds WHERE account_id = $1", m.id)
    assert sorted(r["payment_intent_id"] for r in refunds) == sorted(pi["id"] for pi in to_refund)
    await ledger_balanced(m.id)


CRASH_PATHS = {
    "refund": (lambda pi: "/v1/refunds", lambda pi: {"payment_intent": pi["id"], "amount": 1500}, "paid"),
    "confirm": (lambda pi: f"/v1/payment_intents/{pi['id']}/confirm", lambda pi: {"card": CARD}, "unpaid"),
    "capture": (lambda pi: f"/v1/payment_intents/{pi['id']}/capture", lambda pi: {"amount_to_capture": 1500},
                "held"),
    "cancel": (lambda pi: f"/v1/payment_intents/{pi['id']}/cancel", lambda pi: {}, "held"),
}


@pytest.mark.parametrize("name", list(CRASH_PATHS))
async def test_a_crash_right_after_the_commit_then_a_retry_acts_once(http, infrastructure, tmp_path, name):
    """The issue's double refund: the refund commits, the request never answers; the retry must not refund again."""
    m = await merchant(http)
    path, body, state = CRASH_PATHS[name]
    pi = {"paid": lambda: m.paid(2000), "unpaid": lambda: m.intent(2000),
          "held": lambda: m.paid(2000, capture_method="manual")}[state]
    pi = await pi()
    headers = {**m.headers, "Idempotency-Key": f"crash-{name}"}
    async with paydeck_web(tmp_path) as (url, proc), httpx.AsyncClient(base_url=url, timeout=60) as client:
        crash = {**headers, "Paydeck-Test-Fault": "crash-after-commit=1"}
        with pytest.raises(httpx.TransportError):
            await client.post(path(pi), json=body(pi), headers=crash)
        assert proc.wait(timeout=30) == 70, "the process should have died right after its commit"
    async with paydeck_web(tmp_path) as (url, _), httpx.AsyncClient(base_url=url, timeout=60) as client:
        retried = await client.post(path(pi), json=body(pi), headers=headers)
        assert retried.status_code == 200, retried.text
        assert "idempotent-replayed" not in retried.headers
        again = await client.post(path(pi), json=body(pi), headers=headers)
        assert again.headers.get("idempotent-replayed") == "true" and again.json() == retried.json()
    after = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    charge = (await processor().charges_for(pi["id"]))
    if name == "refund":
        assert after["amount_refunded"] == 1500 and charge[0]["amount_refunded"] == 1500
        assert len(await db.fetch("SELECT id FROM refunds WHERE payment_intent_id = $1", pi["id"])) == 1
    elif name == "confirm":  # the retry charges with the attempt's key, unless the reconciler voided it first
        if after["status"] == "failed":
            assert charge == [] and after["last_payment_error"]["code"] == "processing_error"
        else:
            assert after["status"] == "succeeded" and [c["status"] for c in charge] == ["succeeded"]
    elif name == "capture":
        assert after["status"] == "succeeded" and after["amount_received"] == charge[0]["amount_captured"] == 1500
    else:
        assert after["status"] == "canceled" and charge[0]["status"] == "canceled"
    await ledger_balanced(m.id)


async def test_redis_flushall_mid_traffic_keeps_idempotency(http, infrastructure, tmp_path):
    import redis.asyncio as aioredis

    m = await merchant(http)
    paid = await _intents(m, 30, pay=True)
    own_redis = embedded.start_redis(tmp_path / "redis", persist=False)
    try:
        requests = ([("/v1/refunds", {"payment_intent": pi["id"], "amount": 250}) for pi in paid]
                    + [("/v1/payment_intents", {"amount": 100 + i, "currency": "usd"}) for i in range(30)])
        keys = [f"flush-{i}" for i in range(len(requests))]
        async with paydeck_web(tmp_path, REDIS_URL=own_redis.url) as (url, _), httpx.AsyncClient(
                base_url=url, timeout=60) as client:
            flushed = asyncio.Event()
            first: dict[str, httpx.Response] = {}

            async def send(i: int) -> None:
                if i == len(requests) // 2:
                    async with aioredis.from_url(own_redis.url) as r:
                        await r.flushall()
                    flushed.set()
                path, body = requests[i]
                first[keys[i]] = await until_answered(client, path, body, {**m.headers, "Idempotency-Key": keys[i]})

            for i in range(len(requests)):  # in order, so half the traffic lands on each side of the flush
                await send(i)
            assert flushed.is_set()
            again = await asyncio.gather(*[
                client.post(path, json=body, headers={**m.headers, "Idempotency-Key": key})
                for (path, body), key in zip(requests, keys, strict=True)])
        assert all(r.headers.get("idempotent-replayed") == "true" for r in again)
        assert [r.json() for r in again] == [first[k].json() for k in keys]
    finally:
        own_redis.stop()
    refunds = await db.fetch("SELECT payment_intent_id FROM refunds WHERE account_id = $1", m.id)
    assert sorted(r["payment_intent_id"] for r in refunds) == sorted(pi["id"] for pi in paid)
    made = await db.fetchrow("SELECT count(*) AS n FROM payment_intents WHERE account_id = $1 AND status = "
                             "'requires_payment_method'", m.id)
    assert made["n"] == 30
    await ledger_balanced(m.id)


# --- races on one intent, with and without keys -------------------------------------------------------

def _keys(mode: str, n: int) -> list[dict[str, str]]:
    if mode == "none":
        return [{} for _ in range(n)]
    if mode == "same":
        return [{"Idempotency-Key": "one-key"} for _ in range(n)]
    return [{"Idempotency-Key": f"key-{i}"} for i in range(n)]


def _final(resp: httpx.Response) -> bool:
    """A request that ran (not the 409 of a key still running)."""
    return not (resp.status_code == 409 and resp.json()["error"]["code"] == "idempotency_key_in_use")


KEY_MODES = ["none", "distinct", "same"]


@pytest.mark.parametrize("keys", KEY_MODES)
async def test_concurrent_confirms_charge_once(http, keys):
    m = await merchant(http)
    pi = await m.intent(1000)
    answers = await asyncio.gather(*[m.post(f"/v1/payment_intents/{pi['id']}/confirm", {"card": CARD}, headers=h)
                                     for h in _keys(keys, 8)])
    ran = [r for r in answers if _final(r)]
    winners = [r for r in ran if r.status_code == 200 and r.headers.get("idempotent-replayed") != "true"]
    assert len(winners) == 1, [r.text for r in answers]
    assert all(r.status_code == 409 for r in ran if r.status_code != 200)
    assert len(await processor().charges_for(pi["id"])) == 1
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == "succeeded"
    await ledger_balanced(m.id)


@pytest.mark.parametrize("keys", KEY_MODES)
async def test_concurrent_captures_and_cancels_one_wins(http, keys):
    m = await merchant(http)
    pi = await m.paid(1000, capture_method="manual")
    actions = [(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 100 * (i + 1)}) for i in range(4)]
    actions += [(f"/v1/payment_intents/{pi['id']}/cancel", {}) for _ in range(4)]
    if keys == "same":  # one key means one request: send the same one eight times
        actions = [actions[0]] * 8
    answers = await asyncio.gather(*[m.post(path, body, headers=h)
                                     for (path, body), h in zip(actions, _keys(keys, 8), strict=True)])
    ran = [(a, r) for a, r in zip(actions, answers, strict=True) if _final(r)]
    won = [(a, r) for a, r in ran if r.status_code == 200 and r.headers.get("idempotent-replayed") != "true"]
    assert len(won) == 1, [r.text for r in answers]
    assert all(r.status_code in (200, 409) for _, r in ran)
    after = (await m.get(f"/v1/payment_intents/{pi['id']}")).json()
    charge = (await processor().charges_for(pi["id"]))[0]
    (path, body), _ = won[0]
    if path.endswith("/capture"):
        assert after["status"] == "succeeded" and after["amount_received"] == body["amount_to_capture"]
        assert charge["amount_captured"] == body["amount_to_capture"]
    else:
        assert after["status"] == "canceled" and charge["status"] == "canceled"
    payments = await db.fetch("SELECT id FROM journal_entries WHERE reference = $1 AND kind = 'payment'", pi["id"])
    assert len(payments) == (1 if after["status"] == "succeeded" else 0)
    await ledger_balanced(m.id)


@pytest.mark.parametrize("keys", KEY_MODES)
async def test_concurrent_refunds_never_exceed_the_payment(http, keys):
    m = await merchant(http)
    pi = await m.paid(1000)
    answers = await asyncio.gather(*[m.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 300}, headers=h)
                                     for h in _keys(keys, 8)])
    ran = [r for r in answers if _final(r)]
    made = {r.json()["id"] for r in ran if r.status_code == 200}
    assert len(made) == (1 if keys == "same" else 3), [r.text for r in answers]
    assert all(r.json()["error"]["code"] == "amount_too_large" for r in ran if r.status_code != 200)
    rows = await db.fetch("SELECT id, amount FROM refunds WHERE payment_intent_id = $1", pi["id"])
    assert {r["id"] for r in rows} == made
    refunded = sum(r["amount"] for r in rows)
    assert (await processor().charges_for(pi["id"]))[0]["amount_refunded"] == refunded
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["amount_refunded"] == refunded
    await ledger_balanced(m.id)
