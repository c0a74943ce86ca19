"""A processor timeout, a process killed mid-payment: the reconciler settles them, charging once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx

from server import db, embedded
from tests.payments.helpers import merchant

TIMEOUT_CARD = "4000000000000119"


async def charges_for(reference: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=os.environ["PAYDECK_PROCESSOR_URL"]) as client:
        return (await client.get("/v1/charges", params={"reference": reference})).json()


async def wait_status(m, pi_id: str, wanted: str, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        pi = (await m.get(f"/v1/payment_intents/{pi_id}")).json()
        if pi["status"] == wanted or time.monotonic() > deadline:
            return pi
        await asyncio.sleep(0.1)


async def test_processor_timeout_then_reconciliation_charges_once(http):
    m = await merchant(http)
    pi = await m.intent(1234)
    resp = await m.confirm(pi["id"], TIMEOUT_CARD)
    assert resp.status_code == 200 and resp.json()["status"] == "processing"
    again = await m.confirm(pi["id"], TIMEOUT_CARD)
    assert again.status_code == 409 and "'processing'" in again.json()["error"]["message"]
    done = await wait_status(m, pi["id"], "succeeded")
    assert done["status"] == "succeeded" and done["amount_received"] == 1234
    assert len(await charges_for(pi["id"])) == 1
    assert await m.balance() == 1234 - (36 + 30)
    types = [r["type"] for r in await db.fetch("SELECT type FROM events WHERE object_id = $1", pi["id"])]
    assert types.count("payment_intent.succeeded") == 1


async def test_a_request_the_processor_never_got_is_voided_and_failed(http):
    m = await merchant(http)
    pi = await m.intent(500)
    # As if the process died after committing `processing` and before its request left.
    await db.execute("UPDATE payment_intents SET status = 'processing', processor_key = $2, "
                     "processing_since = now() - interval '1 minute' WHERE id = $1", pi["id"], pi["id"] + "_lost")
    done = await wait_status(m, pi["id"], "failed")
    assert done["status"] == "failed" and done["last_payment_error"]["code"] == "processing_error"
    assert await charges_for(pi["id"]) == []


def start_app(port: int, workers: bool) -> subprocess.Popen:
    env = {**os.environ, "PAYDECK_PROCESSOR_TIMEOUT_SECONDS": "30", "PAYDECK_PORT": str(port)}
    return subprocess.Popen([sys.executable, "-m", "server.cli", "run" if workers else "web", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


async def wait_ready(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the app subprocess exited"
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the app subprocess did not become ready")


async def test_sigkill_between_processor_success_and_commit_is_found_on_restart(http):
    port = embedded.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_app(port, workers=False)
    try:
        await wait_ready(base, proc)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            m = await merchant(client)
            pi = await m.intent(4321)
            pending = asyncio.create_task(m.confirm(pi["id"], TIMEOUT_CARD))
            deadline = time.monotonic() + 10
            while not await charges_for(pi["id"]):  # the processor has charged; its answer is on its way
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            try:
                await pending
            except httpx.HTTPError:
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    row = await db.fetchrow("SELECT status FROM payment_intents WHERE id = $1", pi["id"])
    assert row["status"] == "processing"
    proc = start_app(port, workers=True)
    try:
        await wait_ready(base, proc)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            m.http = client
            done = await wait_status(m, pi["id"], "succeeded")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert done["status"] == "succeeded" and done["amount_received"] == 4321
    assert len(await charges_for(pi["id"])) == 1
    m.http = http
    assert await m.balance() == 4321 - (125 + 30)


async def test_a_capture_and_a_release_left_pending_are_finished_once_by_the_reconciler(http):
    from server.faults import HEADER as FAULT

    m = await merchant(http)
    to_capture = await m.paid(1000, capture_method="manual")
    to_release = await m.paid(1000, capture_method="manual")
    # Each request fails right after its phase 1 (commit 2; commit 1 is the expiry check): nobody retries.
    for path, body in ((f"/v1/payment_intents/{to_capture['id']}/capture", {"amount_to_capture": 700}),
                       (f"/v1/payment_intents/{to_release['id']}/cancel", {})):
        assert (await m.post(path, body, headers={FAULT: "after-commit=2"})).status_code == 500
    busy = await m.post(f"/v1/payment_intents/{to_capture['id']}/cancel", {})
    assert busy.status_code == 409  # while the capture is pending (or, if finished already, succeeded)
    assert busy.json()["error"]["code"] in ("payment_intent_action_in_progress", "payment_intent_unexpected_state")
    captured = await wait_status(m, to_capture["id"], "succeeded")
    released = await wait_status(m, to_release["id"], "canceled")
    assert captured["status"] == "succeeded" and captured["amount_received"] == 700
    assert released["status"] == "canceled" and released["cancellation_reason"] == "requested_by_customer"
    assert [c["amount_captured"] for c in await charges_for(to_capture["id"])] == [700]
    assert [c["status"] for c in await charges_for(to_release["id"])] == ["canceled"]
    entries = await db.fetch("SELECT reference FROM journal_entries WHERE kind = 'payment' AND reference = ANY($1)",
                             [to_capture["id"], to_release["id"]])
    assert [e["reference"] for e in entries] == [to_capture["id"]]
    assert await m.balance() == 700 - (20 + 30)
