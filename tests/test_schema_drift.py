"""Snapshots that must stay true: the GraphQL SDL file, the migrations, the graphql package."""

from __future__ import annotations

from pathlib import Path

import graphql as graphql_library

from server.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_import_graphql_is_the_library_not_our_folder():
    assert "site-packages" in str(graphql_library.__file__)
    assert hasattr(graphql_library, "GraphQLSchema")
    assert not (ROOT / "graphql" / "__init__.py").exists()


def test_schema_snapshot_is_current():
    committed = (ROOT / "graphql" / "schema.graphql").read_text().strip()
    assert committed == schema.as_str().strip(), "run `make schema` and commit graphql/schema.graphql"


async def test_tables_and_migrations_agree(server):
    from piccolo.apps.migrations.commands.new import AutoMigrationManager

    from db.piccolo_app import APP_CONFIG

    statements = await AutoMigrationManager(auto_input="y").get_alter_statements(app_config=APP_CONFIG)
    pending = [s for group in statements for s in group.statements]
    assert not pending, f"tables differ from migrations; generate one: {pending}"


def test_stored_operations_validate():
    from server.operations import load_all

    assert load_all(), "no stored operations found"
