"""`paydeck account ...`: accounts made from the command line."""

from __future__ import annotations

import asyncio
import json
import sys

import click


@click.group(help="Manage accounts.")
def account() -> None:
    pass


@account.command("create", help="Create an account with its owner and test/live secret and publishable keys.")
@click.option("--email", required=True, help="Owner's login email.")
@click.option("--password", required=True, help="Owner's password (10+ characters).")
@click.option("--name", default="", help="Account name (default: from the email).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def account_create(email: str, password: str, name: str, as_json: bool) -> None:
    from server import db
    from server.accounts.service import NewAccount, create_account
    from server.errors import PaydeckError
    from server.runtime import infrastructure
    from server.runtime import migrate as run_migrations

    async def go() -> NewAccount:
        await run_migrations(quiet=True)
        await db.open_pool(1, 2)
        try:
            return await create_account(name, email, password)
        finally:
            await db.close_pool()

    with infrastructure(quiet=True, command="paydeck account create"):
        try:
            created = asyncio.run(go())
        except PaydeckError as exc:
            click.echo(f"error: {exc.message}" + (f" ({exc.param})" if exc.param else ""), err=True)
            sys.exit(2)
    out = {"account_id": created.account["id"], "email": created.user["email"], **{
        f"{k}_key": v for k, v in created.keys.items()}}
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            click.echo(f"{key:>22}: {value}")
