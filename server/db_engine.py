"""The Piccolo engine class, importable without a reachable database."""

from piccolo.engine.postgres import PostgresEngine


class PaydeckEngine(PostgresEngine):
    """A PostgresEngine that does not connect while being constructed.

    Piccolo's engine checks the server version at import time; our URL may
    only be known after the embedded server has started, so that check is
    left out. Extensions are created by migrations.
    """

    async def check_version(self) -> None:  # type: ignore[override]
        return None

    async def prep_database(self) -> None:
        return None
