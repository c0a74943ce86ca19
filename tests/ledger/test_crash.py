"""Crash safety: SIGKILL a real `paydeck web` during a burst of transfers, restart it, retry every
transfer with its Idempotency-Key: each is applied exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from server import db, embedded
from tests.factories import new_account, user_ctx

PAYDECK = Path(sys.executable).parent / "paydeck"


def _start(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PAYDECK_API_RATE_LIMIT_PER_SECOND": "100000", "PAYDECK_PORT": str(port),
           "PAYDECK_SHUTDOWN_GRACE_SECONDS": "1"}
    return subprocess.Popen([str(PAYDECK), "web", "--port", str(port)], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


async def _ready(url: str, proc: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            assert proc.poll() is None, "paydeck web exited during start-up"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("paydeck web did not start")


async def test_transfers_survive_a_sigkill_exactly_once(infrastructure, server, tmp_path):
    from server.customers import service, wallet

    account = await new_account()
    ctx = user_ctx(account.account["id"], account.user["id"])
    sender = (await service.create(ctx, None, "sender")).id
    receivers = [(await service.create(ctx, None, f"r{i}")).id for i in range(5)]
    await wallet.credit(ctx, sender, 1_000_000, "USD", "crash_seed")
    transfers = [(f"crash-{i}", {"from_customer": sender, "to_customer": receivers[i % 5], "amount": 100 + i,
                                 "currency": "USD"}) for i in range(200)]
    port = embedded.free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {account.keys['secret_test']}"}
    log = tmp_path / "web.log"

    proc = _start(port, log)
    await _ready(url, proc)
    answered: list[str] = []
    twenty = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as client:
        async def send(key: str, body: dict) -> None:
            try:
                resp = await client.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})
                if resp.status_code == 200:
                    answered.append(key)
                    if len(answered) >= 20:
                        twenty.set()
            except httpx.TransportError:
                pass  # the server died under us: the caller does not know the outcome

        async def kill_mid_burst() -> None:
            await twenty.wait()
            proc.send_signal(signal.SIGKILL)

        sem = asyncio.Semaphore(16)

        async def limited(key: str, body: dict) -> None:
            async with sem:
                await send(key, body)

        await asyncio.gather(kill_mid_burst(), *[limited(k, b) for k, b in transfers])
    proc.wait(timeout=10)
    assert 20 <= len(answered) < len(transfers), "the kill should land mid-burst"

    proc = _start(port, log)
    try:
        await _ready(url, proc)
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
            for key, body in transfers:  # the caller retries everything it sent
                resp = await client.post("/v1/transfers", json=body, headers={"Idempotency-Key": key})
                assert resp.status_code == 200, resp.text
                if key in answered:  # acknowledged before the kill: committed, so replayed now
                    assert resp.headers.get("idempotent-replayed") == "true"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

    rows = await db.fetch("SELECT idempotency_key, count(*) AS n FROM events WHERE account_id = $1 "
                          "AND type = 'transfer.created' GROUP BY idempotency_key", account.account["id"])
    assert {r["idempotency_key"]: r["n"] for r in rows} == {key: 1 for key, _ in transfers}
    moved = sum(body["amount"] for _, body in transfers)
    balance = await db.fetchrow("SELECT balance FROM ledger_accounts WHERE account_id = $1 AND owner_id = $2",
                                account.account["id"], sender)
    assert balance["balance"] == 1_000_000 - moved
