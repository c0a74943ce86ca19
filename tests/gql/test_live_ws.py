"""graphql-transport-ws served by server/gql/live_ws.py: what it sends is byte for byte what Strawberry's handler
sends (PAYDECK_GRAPHQL_LIVE_WS=false serves the same socket with Strawberry's, in the same server), each live
event's payload is serialised once for every subscriber of a document, and the protocol's close codes hold."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from server import health
from server.gql import live_plans, live_ws
from server.settings import get_settings
from tests.events.helpers import emit_event, nudging, scope_of
from tests.factories import bearer, create_key, login, new_account
from tests.support import eventually


@pytest.fixture(scope="module")
async def account(server):
    return await new_account(name="Live WS Co")


def _url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


@contextlib.contextmanager
def strawberry_handler():
    """Sockets opened inside the block are served by Strawberry's own handler."""
    settings = get_settings()
    settings.graphql_live_ws = False
    try:
        yield
    finally:
        settings.graphql_live_ws = True


class Raw:
    """A graphql-transport-ws client that keeps every text frame exactly as received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self.closed: tuple[int | None, str | None] | None = None
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                self.frames.append(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            received = self.ws.protocol.close_rcvd
            self.closed = (received.code, received.reason) if received else (None, None)

    def send(self, message: Any) -> Any:
        return self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def containing(self, text: str) -> list[str]:
        return [f for f in self.frames if text in f]

    async def ended(self) -> tuple[int | None, str | None]:
        await asyncio.wait_for(self.task, 20)
        assert self.closed is not None
        return self.closed


@contextlib.asynccontextmanager
async def raw(base_url: str, *, live: bool = True, init: dict | None = None) -> AsyncIterator[Raw]:
    """A connection served by the live path (or, live=False, by Strawberry's handler), acknowledged if `init`."""
    before = live_ws.Stats.connections
    if live:
        ws = await websockets.connect(_url(base_url), subprotocols=["graphql-transport-ws"])
    else:
        with strawberry_handler():
            ws = await websockets.connect(_url(base_url), subprotocols=["graphql-transport-ws"])
    assert (live_ws.Stats.connections > before) == live  # served by the handler the test asked for
    client = Raw(ws)
    try:
        if init is not None:
            await client.send({"type": "connection_init", "payload": init})
            await eventually(lambda: client.containing("connection_ack"))
        yield client
    finally:
        await ws.close()
        client.task.cancel()


def subscribe(query: str, variables: dict | None = None, name: str | None = None, op_id: str = "1") -> dict:
    payload: dict[str, Any] = {"query": query, "variables": variables or {}}
    if name:
        payload["operationName"] = name
    return {"id": op_id, "type": "subscribe", "payload": payload}


async def both_live(scope, clients: list[Raw], event_type: str = "customer.created") -> None:
    """Wait until every client's subscription is live in the hub: each has received one marker event."""
    markers: list[str] = []

    async def nudge() -> None:
        markers.append(await emit_event(scope, event_type))

    await eventually(nudging(lambda: any(all(c.containing(m) for c in clients) for m in markers), nudge))


def next_frames(client: Raw, event_id: str) -> list[str]:
    return [f for f in client.containing(event_id) if '"type":"next"' in f]


ELIGIBLE = [
    pytest.param("subscription { live: events { eventId: id kind: type objectId created data } }", None, None,
                 "customer.created", id="aliases"),
    pytest.param("subscription Feed { events(types: [\"customer.*\"]) { ...Bits ... on Event { objectType } } }\n"
                 "fragment Bits on Event { id livemode requestId idempotencyKey }", None, "Feed",
                 "customer.created", id="fragments"),
    pytest.param("subscription($types: [String!], $full: Boolean!) { events(types: $types) { id "
                 "type @include(if: $full) objectId @skip(if: $full) data @include(if: $full) } }",
                 {"types": ["customer.created"], "full": True}, None, "customer.created", id="variables-include"),
    pytest.param("subscription { paymentUpdated { __typename id t: __typename type } }", None, None,
                 "payment_intent.created", id="typename"),
]


@pytest.mark.parametrize(("query", "variables", "name", "event_type"), ELIGIBLE)
async def test_a_live_event_is_byte_for_byte_strawberrys(base_url, account, query, variables, name, event_type):
    key = bearer(account.keys["secret_test"])
    async with raw(base_url, init=key) as ours, raw(base_url, live=False, init=key) as theirs:
        for client in (ours, theirs):
            await client.send(subscribe(query, variables, name))
        await both_live(scope_of(account), [ours, theirs], event_type)
        rendered = live_plans.Stats.rendered
        event_id = await emit_event(scope_of(account), event_type, data={"id": "x", "amount": 5, "note": "é"})
        await eventually(lambda: next_frames(ours, event_id) and next_frames(theirs, event_id))
        assert live_plans.Stats.rendered == rendered + 1  # our connection's payload came from the live path
        assert next_frames(ours, event_id) == next_frames(theirs, event_id)
        assert len(next_frames(ours, event_id)) == 1


def _first_answer(client: Raw) -> Any:
    return next((f for f in client.frames if "connection_ack" not in f), None)


async def _answers(base_url: str, init: dict, message: dict) -> list[Any]:
    """What our connection and Strawberry's send back to `message` (first frame after the ack, or the close)."""
    answers = []
    for live in (True, False):
        async with raw(base_url, live=live, init=init) as client:
            await client.send(message)
            answer = await eventually(lambda c=client: _first_answer(c) or c.closed)
            answers.append(answer)
    return answers


@pytest.mark.parametrize(("query", "variables"), [
    pytest.param("subscription($types: [String!]) { events(types: $types) { id } }", {"types": 5},
                 id="bad-variable"),
    pytest.param("subscription($t: [String!]) { events(types: $t) { id } }", {"t": ["bad type!"]},
                 id="invalid-types"),
    pytest.param("subscription { events { id }", None, id="syntax-error"),
    pytest.param("subscription { events { id nope } }", None, id="unknown-field"),
    pytest.param("subscription { events @include(if: true) { id } }", {}, id="root-directive"),
])
async def test_a_subscription_that_fails_fails_as_strawberrys_does(base_url, account, query, variables):
    ours, theirs = await _answers(base_url, bearer(account.keys["secret_test"]), subscribe(query, variables))
    assert ours == theirs
    assert ours is not None


async def test_a_key_without_events_read_gets_strawberrys_answer(base_url, account):
    session = await login(base_url, account.user["email"])
    try:
        key = await create_key(session, "restricted", permissions=[{"resource": "customers", "level": "read"}])
    finally:
        await session.client.aclose()
    ours, theirs = await _answers(base_url, bearer(key["secret"]), subscribe("subscription { events { id } }"))
    assert ours == theirs
    assert "events" in ours and "permission" in ours.lower()


async def test_subscribers_of_one_document_share_one_serialisation(base_url, account):
    key = bearer(account.keys["secret_test"])
    query = "subscription { events { id type } }"
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(raw(base_url, init=key)) for _ in range(5)]
        for client in clients:
            await client.send(subscribe(query))
        await both_live(scope_of(account), clients)
        rendered = live_plans.Stats.rendered
        event_ids = [await emit_event(scope_of(account)) for _ in range(3)]
        await eventually(lambda: all(next_frames(c, e) for c in clients for e in event_ids))
        assert live_plans.Stats.rendered == rendered + len(event_ids)  # once per event, not per subscriber
        for event_id in event_ids:
            assert len({next_frames(c, event_id)[0] for c in clients}) == 1


async def test_another_account_or_mode_sees_nothing(base_url, account):
    other = await new_account(name="Other Live Co")
    query = "subscription { events { id } }"
    async with raw(base_url, init=bearer(account.keys["secret_test"])) as mine, \
            raw(base_url, init=bearer(account.keys["secret_live"])) as live_mode, \
            raw(base_url, init=bearer(other.keys["secret_test"])) as theirs:
        for client in (mine, live_mode, theirs):
            await client.send(subscribe(query))
        await both_live(scope_of(account), [mine])
        await both_live(scope_of(account, livemode=True), [live_mode])
        await both_live(scope_of(other), [theirs])
        event_id = await emit_event(scope_of(account))
        await eventually(lambda: next_frames(mine, event_id))
        last = await emit_event(scope_of(other))  # after ours: once it arrived, ours would have too
        await eventually(lambda: next_frames(theirs, last))
        assert not live_mode.containing(event_id) and not theirs.containing(event_id)


@pytest.mark.parametrize(("messages", "expected"), [
    pytest.param([subscribe("subscription { events { id } }")], (4401, "Unauthorized"), id="subscribe-before-init"),
    pytest.param(["init", "init"], (4429, "Too many initialisation requests"), id="second-init"),
    pytest.param(["init", subscribe("subscription { events { id } }"), subscribe("subscription { events { id } }")],
                 (4409, "Subscriber for 1 already exists"), id="duplicate-id"),
    pytest.param(["{not json"], (4400, "WebSocket message must be valid JSON"), id="not-json"),
    pytest.param([b"\x00binary"], (4400, "WebSocket message type must be text"), id="binary"),
    pytest.param([{"type": "shout"}], (4400, "Unknown message type: shout"), id="unknown-type"),
    pytest.param([{"payload": {}}], (4400, "Failed to parse message"), id="no-type"),
    pytest.param([{"type": "connection_init", "payload": "x"}], (4400, "Invalid connection init payload"),
                 id="init-payload-not-an-object"),
    pytest.param([{"type": "connection_init", "payload": {"Authorization": "Bearer sk_test_nonsense"}}],
                 (4403, "Forbidden"), id="bad-key"),
])
async def test_close_codes_are_strawberrys(base_url, account, messages, expected):
    init = {"type": "connection_init", "payload": bearer(account.keys["secret_test"])}
    for live in (True, False):
        async with raw(base_url, live=live) as client:
            for message in messages:
                await client.send(init if message == "init" else message)
            assert await client.ended() == expected, "live path" if live else "Strawberry's handler"


async def test_no_init_within_the_wait_closes_4408(base_url, monkeypatch):
    monkeypatch.setattr(live_ws, "INIT_WAIT_SECONDS", 0.3)
    async with raw(base_url) as client:
        await client.send({"type": "ping"})
        assert await client.ended() == (4408, "Connection initialisation timeout")
    assert client.frames == ['{"type":"pong"}']  # a ping before the init is answered, as in Strawberry's


async def test_a_cross_origin_handshake_is_refused_before_accepting(base_url):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(_url(base_url), subprotocols=["graphql-transport-ws"],
                                 additional_headers={"Origin": "http://evil.example.com"})
    assert refused.value.response.status_code == 403


async def test_a_query_and_a_mutation_over_the_socket_still_work(base_url, account):
    key = bearer(account.keys["secret_test"])
    query = subscribe("query Who { account { id } }", name="Who")
    ours, theirs = await _answers(base_url, key, query)
    expected = {"id": "1", "type": "next", "payload": {"data": {"account": {"id": account.account["id"]}}}}
    assert ours == theirs == json.dumps(expected, separators=(",", ":"))
    async with raw(base_url, init=key) as client:
        await client.send(subscribe("mutation($e: String) { createCustomer(input: {email: $e}) { __typename } }",
                                    {"e": "ws@example.com"}))
        await eventually(lambda: client.containing('"type":"complete"'))
        assert client.frames[1:] == ['{"id":"1","type":"next","payload":{"data":{"createCustomer":'
                                     '{"__typename":"CustomerPayload"}}}}', '{"id":"1","type":"complete"}']


async def test_complete_from_the_client_ends_a_live_subscription(base_url, account):
    key = bearer(account.keys["secret_test"])
    async with raw(base_url, init=key) as client:
        await client.send(subscribe("subscription { events { id } }"))
        await both_live(scope_of(account), [client])
        await client.send({"id": "1", "type": "complete"})
        await client.send(subscribe("subscription { events { type } }"))  # the id is free again at once
        await client.send({"type": "ping"})
        await eventually(lambda: client.containing("pong"))
        event_id = await emit_event(scope_of(account), "customer.updated")
        await eventually(lambda: client.containing('"type":"customer.updated"'))
        assert not client.containing(event_id)  # the first subscription sent nothing more
        assert not client.containing('"type":"complete"')


async def test_draining_closes_the_sockets(base_url, account):
    async with raw(base_url, init=bearer(account.keys["secret_test"])) as client:
        await client.send(subscribe("subscription { events { id } }"))
        await both_live(scope_of(account), [client])
        health.draining.set()
        try:
            assert await client.ended() == (1012, "service restart")
        finally:
            health.draining.clear()
