"""The `paydeck` command: helpful --help everywhere, `account create --json` as a subprocess."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from tests.factories import PASSWORD, bearer

PAYDECK = Path(sys.executable).parent / "paydeck"


def _commands(group=main, prefix=()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if hasattr(command, "commands"):
            out += _commands(command, (*prefix, name))
    return out


def test_paydeck_help_runs_as_a_command():
    result = subprocess.run([str(PAYDECK), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("run", "web", "worker", "migrate", "account", "demo"):
        assert name in result.stdout


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_subcommand_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    description = result.output.split("\n\n")[1].strip()
    assert len(description) > 15, f"{' '.join(command)} needs a help text"


def test_the_expected_subcommands_exist():
    assert {("run",), ("web",), ("worker",), ("migrate",), ("account",), ("account", "create"), ("demo",)} <= set(
        _commands())


def _account_create(infrastructure, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": infrastructure["database_url"], "REDIS_URL": infrastructure["redis_url"]}
    return subprocess.run([str(PAYDECK), "account", "create", *args], capture_output=True, text=True, env=env,
                          timeout=120)


async def test_account_create_json(infrastructure, http):
    email = f"cli-{secrets.token_hex(4)}@example.com"

    result = _account_create(infrastructure, "--email", email, "--password", PASSWORD, "--name", "CLI Co", "--json")

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"account_id", "email", "secret_test_key", "publishable_test_key", "secret_live_key",
                        "publishable_live_key"}
    assert out["account_id"].startswith("acct_") and out["email"] == email
    for key, prefix in (("secret_test_key", "sk_test_"), ("publishable_test_key", "pk_test_"),
                        ("secret_live_key", "sk_live_"), ("publishable_live_key", "pk_live_")):
        assert out[key].startswith(prefix)
    resp = await http.get("/v1/account", headers=bearer(out["secret_live_key"]))
    assert resp.status_code == 200
    assert resp.json()["id"] == out["account_id"] and resp.json()["name"] == "CLI Co"

    bad = _account_create(infrastructure, "--email", email, "--password", "a wrong password", "--json")
    assert bad.returncode == 2
    assert "error:" in bad.stderr and bad.stdout == ""
