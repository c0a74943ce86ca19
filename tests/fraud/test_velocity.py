"""Velocity windows on a real Redis: exact at their edges, exact against a brute-force model, one round trip."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from server import embedded
from server.fraud.signals import CATALOGUE, VELOCITY_WINDOWS
from server.fraud.velocity import KEEP_MARGIN_MS, KEEP_MS, KINDS, VelocityEvent, record_and_count

MINUTE, HOUR, DAY, WEEK = (w.milliseconds for w in VELOCITY_WINDOWS)
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


@pytest.fixture(scope="module")
async def redis(tmp_path_factory) -> AsyncIterator[Redis]:
    server = embedded.start_redis(tmp_path_factory.mktemp("velocity-redis"), persist=False)
    client = Redis.from_url(server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


def account() -> str:
    return f"acct_{uuid.uuid4().hex}"


def event(amount: int = 100, **keys: str | None) -> VelocityEvent:
    return VelocityEvent(uuid.uuid4().hex, amount, keys)


# (window suffix, window length): an event W - 1 ms old is inside, one exactly W old is outside.
EDGES = [(w.suffix, w.milliseconds) for w in VELOCITY_WINDOWS]


@pytest.mark.parametrize(("suffix", "length"), EDGES)
async def test_window_edges(redis, suffix, length):
    acct = account()
    await record_and_count(redis, acct, False, event(250, card="c1"), T0)
    just_inside = await record_and_count(redis, acct, False, event(100, card="c1"), T0 + length - 1)
    assert just_inside.totals["card"][suffix].count == 2
    assert just_inside.totals["card"][suffix].amount == 350

    acct = account()
    await record_and_count(redis, acct, False, event(250, card="c1"), T0)
    on_the_edge = await record_and_count(redis, acct, False, event(100, card="c1"), T0 + length)
    assert on_the_edge.totals["card"][suffix].count == 1
    assert on_the_edge.totals["card"][suffix].amount == 100
    longer = [w.suffix for w in VELOCITY_WINDOWS if w.milliseconds > length]
    assert all(on_the_edge.totals["card"][s].count == 2 for s in longer)


async def test_distinct_partners_at_the_edges(redis):
    acct = account()
    await record_and_count(redis, acct, True, event(ip_address="203.0.113.9", card="a"), T0)
    await record_and_count(redis, acct, True, event(ip_address="203.0.113.9", card="b"), T0 + 1)
    figures = await record_and_count(redis, acct, True, event(ip_address="203.0.113.9", card="c"), T0 + MINUTE)
    assert figures.distinct[("card", "ip_address")] == {"minutely": 2, "hourly": 3, "daily": 3, "weekly": 3}
    again = await record_and_count(redis, acct, True, event(ip_address="203.0.113.9", card="a"), T0 + HOUR)
    assert again.distinct[("card", "ip_address")] == {"minutely": 1, "hourly": 3, "daily": 3, "weekly": 3}
    signals = again.signals()
    assert signals["card_count_for_ip_address_hourly"] == 3
    assert signals["ip_address_count_for_card_weekly"] == 1


async def test_counts_have_no_cap(redis):
    acct = account()
    for i in range(300):
        figures = await record_and_count(redis, acct, False, event(1, email="burst@example.com"), T0 + i)
    assert figures.totals["email"]["minutely"] == figures.totals["email"]["weekly"]
    assert (figures.totals["email"]["minutely"].count, figures.totals["email"]["minutely"].amount) == (300, 300)


async def test_a_retried_event_is_counted_once(redis):
    acct = account()
    first = VelocityEvent("pi_1", 500, {"card": "c1", "customer": "cus_1"})
    await record_and_count(redis, acct, False, first, T0)
    retried = await record_and_count(redis, acct, False, first, T0 + 10)
    assert retried.totals["card"]["hourly"].count == 1
    assert retried.totals["customer"]["hourly"].amount == 500


async def test_accounts_and_modes_do_not_share_counts(redis):
    acct, other = account(), account()

    async def hourly(account_id: str, livemode: bool, at: int) -> int:
        figures = await record_and_count(redis, account_id, livemode, event(card="shared"), at)
        return figures.totals["card"]["hourly"].count

    assert [await hourly(acct, False, T0), await hourly(acct, False, T0 + 1)] == [1, 2]
    assert await hourly(acct, True, T0 + 2) == 1
    assert await hourly(other, False, T0 + 3) == 1
    assert await hourly(acct, False, T0 + 4) == 3


async def test_spellings_of_one_value_are_one_key(redis):
    acct = account()
    await record_and_count(redis, acct, False, event(email="Buyer@Example.com ", ip_address="2001:DB8:0::1"), T0)
    figures = await record_and_count(redis, acct, False, event(email="buyer@example.com", ip_address="2001:db8::1"),
                                     T0 + 1)
    assert figures.totals["email"]["minutely"].count == 2
    assert figures.totals["ip_address"]["minutely"].count == 2
    assert figures.distinct[("email", "ip_address")]["minutely"] == 1


async def test_absent_keys_are_neither_recorded_nor_reported(redis):
    figures = await record_and_count(redis, account(), False, event(card="c1", email=None, customer=""), T0)
    assert set(figures.totals) == {"card"}
    assert figures.distinct == {}
    assert set(figures.signals()) == {n for n in CATALOGUE if "per_card_" in n}


async def test_signals_are_catalogue_names_and_amounts_in_usd(redis):
    figures = await record_and_count(redis, account(), False,
                                     event(12_345, card="c", customer="cus", email="e@x.io", ip_address="198.51.100.1"),
                                     T0)
    signals = figures.signals()
    families = ("charge_attempts_per_", "amount_in_usd_per_")
    velocity = {n for n in CATALOGUE if n.startswith(families) or "_count_for_" in n}
    assert set(signals) == velocity
    assert signals["amount_in_usd_per_card_daily"] == 123.45


class CountingRedis(Redis):
    """The redis-py client, counting the commands it sends."""

    sent: list[str]

    async def execute_command(self, *args, **options):
        self.sent.append(str(args[0]).upper())
        return await super().execute_command(*args, **options)


async def test_one_round_trip_per_evaluation(redis):
    counting = CountingRedis(connection_pool=redis.connection_pool)
    counting.sent = []
    acct = account()
    keys = {"card": "c", "customer": "cus", "email": "e@x.io", "ip_address": "198.51.100.1"}
    await record_and_count(counting, acct, False, event(**keys), T0)  # loads the script on this server
    counting.sent.clear()
    await record_and_count(counting, acct, False, event(**keys), T0 + 1)
    assert counting.sent == ["EVALSHA"]


async def test_old_entries_are_trimmed_and_idle_keys_expire(redis):
    acct = account()
    for i in range(5):
        await record_and_count(redis, acct, False, event(card=f"c{i}", ip_address="198.51.100.7"), T0 + i)
    await record_and_count(redis, acct, False, event(card="c0", ip_address="198.51.100.7"), T0 + KEEP_MS + 10)
    names = [name async for name in redis.scan_iter(match=f"velocity:{{{acct}:test}}:*")]
    assert names
    for name in names:
        if await redis.type(name) == "zset":
            assert await redis.zcard(name) == 1, name
        assert 0 < await redis.pttl(name) <= KEEP_MS
    assert not any("198.51.100" in name for name in names), "values are hashed in key names"


async def test_bad_events_are_refused(redis):
    with pytest.raises(ValueError, match="unknown velocity key"):
        await record_and_count(redis, account(), False, VelocityEvent("e", 1, {"phone": "1"}), T0)
    with pytest.raises(ValueError, match="integer"):
        await record_and_count(redis, account(), False, VelocityEvent("e", 1.5, {"card": "1"}), T0)  # type: ignore[arg-type]


@dataclass
class Model:
    """The documented semantics computed by brute force over everything recorded."""

    events: dict[str, tuple[int, int, dict[str, str]]] = field(default_factory=dict)  # id -> (t, amount, keys)
    last_seen: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)

    def record(self, event_id: str, amount: int, keys: dict[str, str], now: int) -> None:
        self.events.setdefault(event_id, (now, amount, keys))
        for kind, value in keys.items():
            for counted, partner in keys.items():
                if counted != kind:
                    seen = self.last_seen.setdefault((counted, kind, value), {})
                    seen[partner] = max(seen.get(partner, now), now)

    def totals(self, kind: str, value: str, now: int, length: int) -> tuple[int, int]:
        inside = [a for t, a, keys in self.events.values() if keys.get(kind) == value and now - length < t <= now]
        return len(inside), sum(inside)

    def distinct(self, counted: str, kind: str, value: str, now: int, length: int) -> int:
        seen = self.last_seen.get((counted, kind, value), {})
        return sum(1 for t in seen.values() if now - length < t <= now)


STEPS = [1, 7, 999, MINUTE - 1, MINUTE, MINUTE + 1, HOUR, DAY - 3, DAY, 3 * DAY, WEEK, -1, -MINUTE, -30 * MINUTE]


@pytest.mark.parametrize("seed", range(4))
async def test_every_figure_matches_a_brute_force_model(redis, seed):
    rng = random.Random(seed)
    acct, model, now = account(), Model(), T0
    pools = {"card": ["c1", "c2", "c3"], "customer": ["u1", "u2"], "email": ["a@x.io", "b@x.io", "c@x.io"],
             "ip_address": ["198.51.100.1", "198.51.100.2"]}
    for _ in range(250):
        step = rng.choice(STEPS) if rng.random() < 0.4 else rng.randint(0, 20_000)
        now = max(now + step, max((t for t, _a, _k in model.events.values()), default=T0) - KEEP_MARGIN_MS)
        retriable = [event_id for event_id, (t, _a, _k) in model.events.items() if t > now - WEEK]
        if retriable and rng.random() < 0.1:
            event_id = rng.choice(retriable)
            _t, amount, keys = model.events[event_id]
        else:
            event_id, amount = uuid.uuid4().hex, rng.randint(0, 50_000)
            keys = {kind: rng.choice(pool) for kind, pool in pools.items() if rng.random() < 0.8}
        model.record(event_id, amount, keys, now)
        figures = await record_and_count(redis, acct, False, VelocityEvent(event_id, amount, keys), now)
        for window in VELOCITY_WINDOWS:
            for kind, value in keys.items():
                got = figures.totals[kind][window.suffix]
                assert (got.count, got.amount) == model.totals(kind, value, now, window.milliseconds), (kind, window)
                for counted in keys:
                    if counted != kind:
                        expected = model.distinct(counted, kind, value, now, window.milliseconds)
                        assert figures.distinct[(counted, kind)][window.suffix] == expected, (counted, kind, window)
    assert set(KINDS) == set(pools)
