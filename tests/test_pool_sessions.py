"""Pooled connections carry no session state, so the pool need not reset them between uses.

server/db_engine.keep_session replaces asyncpg's reset query (a round trip per release) with nothing. That is
right only while no SQL run through the pool (`db.fetch…`/`db.execute`) changes the session: a plain `SET`,
a session-level advisory lock, `LISTEN`, a cursor `WITH HOLD` or a temporary table would outlive the request
and reach the next user of the connection. Those belong on a connection of its own (`conn.…`), as the event
dispatcher's LISTEN and the idempotency owner's lock are. Read from the source with `ast`.
"""

from __future__ import annotations

import ast
import asyncio
import re

from server import db
from tests.test_import_cycles import module_files
from tests.test_queries import RUNS_SQL

SESSION_STATE = re.compile(
    r"^\s*SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)|\bpg_(try_)?advisory_lock(_shared)?\s*\(|^\s*LISTEN\b"
    r"|\bWITH\s+HOLD\b|\bCREATE\s+(TEMP|TEMPORARY)\b|\bset_config\s*\([^)]*,\s*false\s*\)",
    re.IGNORECASE | re.MULTILINE)


def _texts(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def session_statements(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "db" and node.args
                and any(SESSION_STATE.search(text) for text in _texts(node.args[0]))):
            found.append(node.lineno)
    return found


def test_the_pattern_finds_what_would_leak_and_passes_what_would_not():
    leaks = ['await db.execute("SET statement_timeout = 0")', 'await db.fetch("SELECT pg_advisory_lock(1)")',
             'await db.execute("LISTEN x")', 'await db.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
             'await db.fetch("SELECT set_config(\'statement_timeout\', $1, false)")']
    fine = ['await db.execute("SET LOCAL synchronous_commit = off")', 'await db.execute("UPDATE t SET a = 1")',
            'await db.fetch("SELECT pg_advisory_xact_lock(1)")', 'await conn.execute("LISTEN x")',
            'await db.fetch("SELECT set_config(name, $1, true) FROM pg_settings")']
    assert all(session_statements(ast.parse(code)) for code in leaks)
    assert not any(session_statements(ast.parse(code)) for code in fine)


def test_no_sql_run_through_the_pool_changes_the_session():
    found = [f"{name}:{line}" for name, path in module_files().items()
             for line in session_statements(ast.parse(path.read_text()))]
    assert not found, f"session state on a pooled connection (use a connection of its own): {found}"


async def test_a_connection_given_back_mid_transaction_is_rolled_back(http):
    """The one reset asyncpg still does by itself: a transaction left open is rolled back on release."""
    pool = db.engine().pool
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        backend = await conn.fetchval("SELECT pg_backend_pid()")
    # A connection of an expired pool generation (the supervisor expires them after restarting PostgreSQL) is
    # closed instead, and its backend ends the transaction as it exits: wait for that, boundedly.
    for _ in range(100):
        async with pool.acquire() as conn:
            status = await conn.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", backend)
        if not (status or "").startswith("idle in transaction"):
            break
        await asyncio.sleep(0.05)
    assert not (status or "").startswith("idle in transaction")
