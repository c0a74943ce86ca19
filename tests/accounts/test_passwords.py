"""Password hashes: argon2id at RFC 9106's cost unless the test suite asks for the cheapest."""

from __future__ import annotations

from argon2 import PasswordHasher

from server.accounts import passwords
from server.settings import Settings


def test_production_hashes_at_rfc_9106_cost_and_only_tests_go_cheaper():
    assert Settings.model_fields["password_hash_cost"].default == "rfc9106"
    assert passwords.COSTS["rfc9106"].memory_cost == 64 * 1024 and passwords.COSTS["rfc9106"].time_cost == 3


async def test_a_hash_verifies_whatever_cost_made_it():
    """A database holds hashes of either cost (a test run, a restored dump): each records its own parameters."""
    strong = PasswordHasher.from_parameters(passwords.COSTS["rfc9106"]).hash("s3cret pass")
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    configured = await passwords.hash_password("s3cret pass")
    for stored in (strong, configured):
        assert await passwords.verify_password(stored, "s3cret pass")
        assert not await passwords.verify_password(stored, "wrong pass")
    assert not await passwords.verify_password(None, "s3cret pass")
