"""GraphQL subscribers of one account share one execution per live event and document (server/gql/shared.py)."""

from __future__ import annotations

import asyncio

from server.events.hub import hub
from tests.events.helpers import WSClient, emit_event, nudging, scope_of
from tests.factories import bearer, new_account
from tests.support import eventually

SMALL = "subscription { events { id } }"
LARGE = "subscription { events { id type livemode } }"


async def test_subscribers_with_the_same_document_share_one_result(base_url):
    account = await new_account()
    scope = scope_of(account)
    key = bearer(account.keys["secret_test"])
    async with WSClient(base_url, key, SMALL) as a, WSClient(base_url, key, SMALL) as b, \
            WSClient(base_url, key, LARGE) as c:
        markers: list[str] = []

        async def nudge():
            markers.append(await emit_event(scope, "test.marker", "test"))

        await eventually(nudging(lambda: any(m in a.ids() and m in b.ids() and m in c.ids() for m in markers),
                                 nudge))
        async with hub().subscribe(scope) as watcher:  # the very message object the hub offers everyone
            event_id = await emit_event(scope)
            message = await asyncio.wait_for(anext(watcher), 20)
            assert message.id == event_id
            await eventually(lambda: all(event_id in ws.ids() for ws in (a, b, c)))
    shared = [k for k in message.cache if k[0] == "graphql"]
    assert sorted(k[1] for k in shared) == sorted([SMALL, LARGE])  # one result per document, not per subscriber
    got = {ws: next(e for e in ws.received if e["id"] == event_id) for ws in (a, b, c)}
    assert got[a] == got[b] == {"id": event_id}
    assert got[c] == {"id": event_id, "type": "customer.created", "livemode": False}
