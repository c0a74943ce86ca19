"""A minimal graphql-transport-ws client for tests."""

from __future__ import annotations

import json
from typing import Any

import websockets


async def subscribe_once(base_url: Any, headers: dict[str, str], query: str, variables: dict | None = None,
                         cookie: str | None = None) -> dict:
    url = str(base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
    extra = {"Cookie": cookie} if cookie else {}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], additional_headers=extra) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        ack = json.loads(await ws.recv())
        if ack["type"] != "connection_ack":
            return {"error": ack}
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "variables": variables or {}}}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                return message["payload"]
            if message["type"] in ("error", "complete"):
                return {"error": message}
