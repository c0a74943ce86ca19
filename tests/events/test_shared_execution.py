"""GraphQL subscribers of one account share one execution per live event and document: the WebSocket's live
path keeps one serialised payload (server/gql/live_plans.py), Strawberry's path one result (server/gql/shared.py)."""

from __future__ import annotations

import asyncio
import json

from server.events.hub import hub
from tests.events.helpers import WSClient, emit_event, nudging, scope_of
from tests.factories import bearer, new_account
from tests.support import eventually

SMALL = "subscription { events { id } }"
LARGE = "subscription { events { id type livemode } }"
SPREAD = "subscription { ...Live } fragment Live on Subscription { events { id } }"  # not the live path's: Strawberry


async def test_subscribers_with_the_same_document_share_one_result(base_url):
    account = await new_account()
    scope = scope_of(account)
    key = bearer(account.keys["secret_test"])
    async with WSClient(base_url, key, SMALL) as a, WSClient(base_url, key, SMALL) as b, \
            WSClient(base_url, key, LARGE) as c, WSClient(base_url, key, SPREAD) as d, \
            WSClient(base_url, key, SPREAD) as e:
        markers: list[str] = []

        async def nudge():
            markers.append(await emit_event(scope, "test.marker", "test"))

        await eventually(nudging(lambda: any(m in a.ids() and m in b.ids() and m in c.ids() for m in markers),
                                 nudge))
        async with hub().subscribe(scope) as watcher:  # the very message object the hub offers everyone
            event_id = await emit_event(scope)
            message = await asyncio.wait_for(anext(watcher), 20)
            assert message.id == event_id
            await eventually(lambda: all(event_id in ws.ids() for ws in (a, b, c, d, e)))
    # One entry per document, not per subscriber: the live path's payload text ...
    payloads = [json.loads(k[1]) for k in message.cache if k[0] == "graphql-ws"]
    assert sorted(p[0] for p in payloads) == sorted([SMALL, LARGE])
    # ... and Strawberry's execution result for the document it runs
    assert [k[1] for k in message.cache if k[0] == "graphql"] == [SPREAD]
    got = {ws: next(e for e in ws.received if e["id"] == event_id) for ws in (a, b, c, d, e)}
    assert got[a] == got[b] == got[d] == got[e] == {"id": event_id}
    assert got[c] == {"id": event_id, "type": "customer.created", "livemode": False}
