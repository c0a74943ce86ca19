"""Password hashing with argon2id, at RFC 9106's low-memory cost (argon2-cffi's default).

Hashing costs a few hundred milliseconds of CPU by design, so it runs in a
worker thread (argon2-cffi releases the GIL): a login must not stall every
other request of the process meanwhile. The test suite sets
PAYDECK_PASSWORD_HASH_COST=cheapest; a hash records its own parameters, so
verifying works whatever the setting was when it was made.
"""

import asyncio
import functools

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.settings import get_settings

COSTS = {"rfc9106": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


@functools.cache
def _hasher() -> tuple[PasswordHasher, str]:
    """The hasher of the configured cost, and a hash to verify against when there is no user.

    Verifying against that dummy keeps the time of "no such user" equal to "wrong password".
    """
    hasher = PasswordHasher.from_parameters(COSTS[get_settings().password_hash_cost])
    return hasher, hasher.hash("paydeck-timing-equaliser")


def _verify(password_hash: str | None, password: str) -> bool:
    hasher, dummy = _hasher()
    try:
        return hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _hash(password: str) -> str:
    return _hasher()[0].hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)
