"""`paydeck simulate`: demo traffic through the real API, test mode only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from server import db
from tests.factories import new_account


async def test_simulate_creates_customers_payments_with_mixed_outcomes_and_refunds(base_url):
    account = await new_account()
    key = account.keys["secret_test"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "simulate", "--rate", "30", "--duration", "2.5", "--url", base_url,
        "--key", key, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    counts = json.loads(out.decode().split("\n", 1)[1])
    assert counts.get("customers", 0) >= 1 and counts.get("payments_succeeded", 0) >= 1
    rows = await db.fetch("SELECT status, livemode, count(*) AS n FROM payment_intents WHERE account_id = $1 "
                          "GROUP BY status, livemode", account.account["id"])
    assert rows and all(r["livemode"] is False for r in rows)
    assert "succeeded" in {r["status"] for r in rows}


async def test_simulate_refuses_live_keys(base_url):
    account = await new_account()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "simulate", "--duration", "1", "--url", base_url,
        "--key", account.keys["secret_live"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    _, err = await proc.communicate()
    assert proc.returncode == 2 and b"test-mode" in err
