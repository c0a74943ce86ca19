"""The key check and the rate limit share one Redis round trip: each request is still counted exactly once,
whether this process holds the key or must read it again."""

from __future__ import annotations

from server.infra import redis
from server.keys import cache, queries, tokens
from tests.factories import bearer, new_account


async def counted(key_id: str) -> int:
    """Requests counted against the key's rate limit, over every window."""
    names = [name async for name in redis().scan_iter(match=f"rl:{cache.rate_bucket(key_id)}:*")]
    return sum(int(value) for value in await redis().mget(names)) if names else 0


async def test_each_request_is_counted_once_held_or_read_again(http):
    account = await new_account()
    token = account.keys["secret_test"]
    row = await queries.by_hash(tokens.hash_token(token))
    assert row is not None

    for how in ("held", "held", "forgotten", "held", "stale", "forgotten", "stale", "held"):
        if how == "forgotten":  # as after a revoke here: this process forgets its keys
            await cache.keys_changed()
        elif how == "stale":  # as after a revoke on another process: held, but to be read again
            await redis().incr(cache.GENERATION)
        assert (await http.get("/v1/account", headers=bearer(token))).status_code == 200

    assert await counted(row["id"]) == 8


async def test_an_unknown_key_is_not_counted_against_anyone(http):
    account = await new_account()
    token = account.keys["secret_test"]
    row = await queries.by_hash(tokens.hash_token(token))
    assert row is not None
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")

    assert (await http.get("/v1/account", headers=bearer(wrong))).status_code == 401
    assert (await http.get("/v1/account", headers=bearer(token))).status_code == 200
    assert await counted(row["id"]) == 1
