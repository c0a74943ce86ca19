"""The `paydeck` command: one click group; each module of this package holds one concern's commands.

Commands import what they need inside their function, so `paydeck --help` stays fast
and a command only loads the parts of the app it runs.

A domain with commands of its own keeps them in `server/<domain>/cli.py` as one click
group and adds it to DOMAIN_GROUPS below (its name becomes `paydeck <group> ...`).
"""

from __future__ import annotations

import click

from server.analytics.cli import analytics
from server.benchmarks.cli import benchmarks
from server.cli import accounts, apilogs, database, demo, search, serve, webhooks
from server.settings import get_settings


class _Paydeck(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        from server.ownership import DataFolderBusy

        try:
            return super().invoke(ctx)
        except DataFolderBusy as exc:  # another `paydeck run` owns the data folder: say so, no traceback
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Paydeck, help="Paydeck: a self-hostable payment platform with a developer dashboard.")
def main() -> None:
    from server import logs as logging_setup

    settings = get_settings()
    logging_setup.configure(settings.log_level, settings.log_format)


CORE_COMMANDS: list[click.Command] = [
    serve.run, serve.web, serve.worker, serve.worker_health,
    database.migrate,
    accounts.account,
    demo.demo, demo.simulate,
    webhooks.listen,
    apilogs.seed_logs,
    search.search,
]
# Command groups of domains, each from its server/<domain>/cli.py.
DOMAIN_GROUPS: list[click.Command] = [analytics, benchmarks]

for command in (*CORE_COMMANDS, *DOMAIN_GROUPS):
    main.add_command(command)
