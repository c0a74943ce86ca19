"""SQL lives in `queries.py`: one data-access style, raw SQL with typed results (docs/development.md, "Queries").

Read from the source with `ast`: a call that runs SQL (`db.fetch…`/`db.execute`, or a method of a
dedicated asyncpg connection) anywhere but a domain's `queries.py` and `server/db.py` fails, and so
does Piccolo's query builder (importing `db.tables`) anywhere in `server/`: tables are for migrations.
"""

from __future__ import annotations

import ast

from tests.test_import_cycles import module_files

RUNS_SQL = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "fetch_as", "fetchrow_as",
            "copy_records_to_table"}
# The processor simulator is an outside party with its own SQLite file, not our database.
ALLOWED = {"server.db", "server.payments.simulator"}


def _receiver(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def sql_calls(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL:
            receiver = _receiver(node.func.value)
            if receiver == "db" or receiver.endswith(("conn", "connection")):
                found.append(node.lineno)
    return found


def test_sql_runs_only_in_queries_modules():
    found = [f"{name}:{line}" for name, path in module_files().items()
             if name not in ALLOWED and not name.endswith(".queries")
             for line in sql_calls(ast.parse(path.read_text()))]
    assert not found, f"move this SQL into the domain's queries.py: {found}"


def test_the_scan_sees_sql_on_the_pool_and_on_own_connections():
    source = "await db.fetch('x')\nawait self.conn.fetchval('x')\nawait pipe.execute()\nawait db.transaction()"
    assert sql_calls(ast.parse(source)) == [1, 2]


def test_no_piccolo_query_builder_in_the_app():
    found = [name for name, path in module_files().items()
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("db.tables")]
    assert not found, f"query with raw SQL in queries.py, not Piccolo tables: {found}"
