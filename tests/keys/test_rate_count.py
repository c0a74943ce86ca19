"""A request whose key this process holds makes no round trip: the key's row is kept until a change is
published (or for a second at most), and the rate limit is taken from Redis a share at a time. No more than
the limit is ever admitted in a window, however many processes share it."""

from __future__ import annotations

import asyncio
import uuid

from server import ratelimit
from server.infra import redis
from server.keys import cache, queries, tokens
from tests.factories import bearer, new_account
from tests.support import eventually

LIMIT = 60  # PAYDECK_API_RATE_LIMIT_PER_SECOND in tests


async def counted(key_id: str) -> int:
    """Hits taken from Redis for the key's rate limit, over every window."""
    names = [name async for name in redis().scan_iter(match=f"rl:{cache.rate_bucket(key_id)}:*")]
    return sum(int(value) for value in await redis().mget(names)) if names else 0


async def increments() -> int:
    """INCRBY commands Redis has run: each is one round trip for a share of a rate limit."""
    return int((await redis().info("commandstats")).get("cmdstat_incrby", {}).get("calls", 0))


async def test_requests_ask_redis_once_per_share_of_the_limit(http):
    account = await new_account()
    token = account.keys["secret_test"]
    row = await queries.by_hash(tokens.hash_token(token))
    assert row is not None
    share = ratelimit.lease_size(LIMIT)
    assert share > 1

    before = await increments()
    for _ in range(4 * share):
        assert (await http.get("/v1/account", headers=bearer(token))).status_code == 200

    asked = await increments() - before
    assert asked <= 4 + 2  # four shares, and one more per window the requests crossed
    assert 4 * share <= await counted(row["id"]) <= (4 + 2) * share


async def test_no_more_than_the_limit_is_admitted_by_processes_sharing_it():
    bucket = f"test:{uuid.uuid4().hex}"
    limit, year = 100, 365 * 86400  # one window for the whole test
    processes = [ratelimit.Leases() for _ in range(3)]

    async def client(leases: ratelimit.Leases) -> int:
        admitted = 0
        for _ in range(80):
            if await leases.hit(bucket, limit, year) is None:
                admitted += 1
        return admitted

    admitted = await asyncio.gather(*[client(leases) for leases in processes for _ in range(2)])
    assert sum(admitted) == limit
    refused = await processes[0].hit(bucket, limit, year)
    assert refused is not None and refused >= 1


async def test_a_small_limit_counts_every_hit():
    bucket = f"test:{uuid.uuid4().hex}"
    limit = ratelimit.EXACT_BELOW - 1
    assert ratelimit.lease_size(limit) == 1
    one, other = ratelimit.Leases(), ratelimit.Leases()
    for i in range(limit):
        assert await (one if i % 2 else other).hit(bucket, limit, 86400) is None
    assert await one.hit(bucket, limit, 86400) is not None
    assert await other.hit(bucket, limit, 86400) is not None


async def test_a_change_published_by_another_process_is_read_again(http):
    account = await new_account()
    token = account.keys["secret_test"]
    assert (await http.get("/v1/account", headers=bearer(token))).status_code == 200
    assert tokens.hash_token(token) in cache._rows

    await redis().publish(cache.CHANGED, "1")  # as keys_changed() does on the process that revoked a key

    await eventually(lambda: tokens.hash_token(token) not in cache._rows,
                     message="a key change published elsewhere did not reach this process's cache")


async def test_an_unknown_key_is_not_counted_against_anyone(http):
    account = await new_account()
    token = account.keys["secret_test"]
    row = await queries.by_hash(tokens.hash_token(token))
    assert row is not None
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")

    assert (await http.get("/v1/account", headers=bearer(wrong))).status_code == 401
    assert (await http.get("/v1/account", headers=bearer(token))).status_code == 200
    assert await counted(row["id"]) == ratelimit.lease_size(LIMIT)
