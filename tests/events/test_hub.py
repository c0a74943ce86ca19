"""The in-process fan-out: a slow subscriber and a lost Redis connection cost no event and no duplicate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis

from server.events import hub as hub_module
from server.events.queries import TypeFilter
from server.events.wire import EventMessage
from tests.events.helpers import emit_event, scope_of
from tests.factories import new_account
from tests.support import eventually


async def drain(subscriber, count: int) -> list[str]:
    got: list[str] = []
    while len(got) < count:
        async with asyncio.timeout(20):
            got.append((await anext(subscriber)).id)
    return got


class TestSlowSubscriber:
    async def test_a_subscriber_left_behind_is_refilled_from_the_table(self, server, monkeypatch):
        monkeypatch.setattr(hub_module, "RECENT", 8)  # a channel keeps 8 to 24 recent messages ...
        monkeypatch.setattr(hub_module, "KEEP_AT_MOST", 24)  # ... however far behind its subscribers are
        account = await new_account()
        scope = scope_of(account)
        hub = hub_module.hub()
        async with hub.subscribe(scope, TypeFilter()) as subscriber:
            # given a subscriber that reads nothing while more events arrive than its channel keeps
            emitted = [await emit_event(scope) for _ in range(hub_module.KEEP_AT_MOST + 20)]
            await eventually(lambda: subscriber.behind)
            # when it reads again, then it gets every event once, in commit order
            got = await drain(subscriber, len(emitted))
        assert sorted(got) == sorted(emitted) and len(set(got)) == len(got)


class TestFilteredSubscriber:
    async def test_a_waiting_filtered_subscriber_passes_over_what_is_not_for_it(self, server, monkeypatch):
        monkeypatch.setattr(hub_module, "RECENT", 8)
        monkeypatch.setattr(hub_module, "KEEP_AT_MOST", 24)
        account = await new_account()
        scope = scope_of(account)
        hub = hub_module.hub()
        async with hub.subscribe(scope, TypeFilter(exact=["customer.updated"])) as subscriber:
            # given: a subscriber of one type, waiting, while many events of other types arrive
            waiting = asyncio.create_task(anext(subscriber))
            await eventually(lambda: subscriber.waiter is not None)
            others = [await emit_event(scope) for _ in range(hub_module.KEEP_AT_MOST + 20)]
            # then: it never falls behind for them (no table read per event), and the channel trims past it
            await eventually(lambda: len(subscriber.channel.messages) < hub_module.KEEP_AT_MOST + 20)
            assert not subscriber.behind
            assert others and not waiting.done()
            # and: its own type still reaches it
            mine = await emit_event(scope, "customer.updated")
            async with asyncio.timeout(20):
                assert (await waiting).id == mine


class TestRedisReconnect:
    async def test_subscribers_catch_up_after_the_hub_resubscribes(self, infrastructure, server):
        account = await new_account()
        scope = scope_of(account)
        hub = hub_module.hub()
        async with hub.subscribe(scope, TypeFilter()) as subscriber:
            before = await emit_event(scope)
            assert await drain(subscriber, 1) == [before]
            resubscribed = hub.resubscribed
            # when Redis drops the hub's subscription and events are published meanwhile
            admin = Redis.from_url(infrastructure["redis_url"], decode_responses=True)
            try:
                await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            finally:
                await admin.aclose()
            during = [await emit_event(scope) for _ in range(5)]
            await eventually(lambda: hub.resubscribed > resubscribed)
            # then the subscriber still gets each of them exactly once
            got = await drain(subscriber, len(during))
        assert sorted(got) == sorted(during)


class TestChannel:
    def test_messages_every_subscriber_has_read_are_dropped(self):
        from datetime import UTC, datetime

        from server.context import Scope
        from server.events.wire import EventMessage

        channel = hub_module.Channel()
        reader = hub_module.Subscriber(hub_module.Hub("redis://unused"), Scope("acct_x", False), TypeFilter(), 0,
                                       catch_up=False)
        reader.channel = channel
        channel.subscribers.add(reader)
        for pos in range(1, 4 * hub_module.RECENT + 1):
            channel.append(EventMessage(id=f"evt_{pos}", pos=pos, account_id="acct_x", livemode=False,
                                        type="customer.created", object_type="customer", object_id="cus_1",
                                        created=datetime.now(UTC), data={}, request_id=None, idempotency_key=None))
            reader.last_pos = pos  # it keeps up
        assert len(channel.messages) < 2 * hub_module.RECENT  # not KEEP_AT_MOST: it read them all
        assert not reader.behind


class TestChannelPositions:
    def test_after_finds_the_first_message_above_a_position(self):
        channel = hub_module.Channel()
        assert channel.after(0) == 0
        for pos in (3, 5, 8, 13):
            channel.messages.append(_message(pos))
        # the quick answers (caught up, one behind) and the search agree with a plain count
        for pos in range(0, 16):
            assert channel.after(pos) == sum(1 for m in channel.messages if m.pos <= pos), pos
        single = hub_module.Channel()
        single.messages.append(_message(4))
        assert [single.after(p) for p in (3, 4, 5)] == [0, 1, 1]


def _message(pos: int) -> EventMessage:
    return EventMessage(id=f"evt_{pos}", pos=pos, account_id="acct_x", livemode=False, type="t.x", object_type="t",
                        object_id="t_1", created=datetime(2026, 12, 1, tzinfo=UTC), data={}, request_id=None,
                        idempotency_key=None)
