"""The WebSocket protocol the app is served with lets go of the handshake's request and response once it has
answered: a held GraphQL subscription must not keep two header tables for its life (issue 15's 25 KiB)."""

from __future__ import annotations

import gc
import json

import websockets

from server.wsprotocol import LeanWebSocketProtocol
from tests.factories import bearer, new_account


async def test_a_held_websocket_keeps_neither_handshake_table_and_still_talks(server):
    account = await new_account(name="Lean WS Co")
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"  # the accept still named the protocol it took
        await ws.send(json.dumps({"type": "connection_init", "payload": bearer(account.keys["secret_test"])}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        # type(), not isinstance(): the heap may hold a weakref proxy whose object is gone, and isinstance()
        # asks the proxy for its __class__, which raises ReferenceError
        held = [p for p in gc.get_objects() if issubclass(type(p), LeanWebSocketProtocol) and not p.disconnected]
        assert held, "the app's WebSockets are served by LeanWebSocketProtocol"
        assert all("request" not in p.__dict__ and "response" not in p.__dict__ for p in held)
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv())["type"] == "pong"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ account { id } }"}}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "next" and reply["payload"]["data"]["account"]["id"] == account.account["id"]
