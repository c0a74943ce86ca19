"""`paydeck seed-logs` writes searchable records; `paydeck search rebuild` explains the PostgreSQL engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server import db
from tests.apilogs.helpers import new_account_id

PAYDECK = str(Path(sys.executable).parent / "paydeck")


def run(*args: str) -> str:
    done = subprocess.run([PAYDECK, *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_seed_logs_and_search_rebuild(server):
    account = new_account_id()
    out = run("seed-logs", "--rows", "300", "--account", account, "--days", "2")
    assert out.startswith("wrote 300 log records")
    row = await db.fetchrow("SELECT count(*) AS n, count(DISTINCT path) AS paths, min(started_at) AS first "
                            "FROM api_request_logs WHERE account_id = $1", account)
    assert row["n"] == 300 and row["paths"] > 5
    assert "nothing to rebuild" in run("search", "rebuild")
