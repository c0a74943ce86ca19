"""Emitting real events, and live clients (graphql-transport-ws, SSE) that collect what they receive."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import websockets

from server import db
from server.context import RequestContext, Scope
from server.events.service import emit


async def emit_event(scope: Scope, type: str = "customer.created", object_type: str | None = None,
                     object_id: str | None = None, data: dict | None = None, ctx: RequestContext | None = None) -> str:
    """One committed event, through the real outbox."""
    object_type = object_type or type.split(".", 1)[0]
    object_id = object_id or f"{object_type[:3]}_{secrets.token_hex(6)}"
    async with db.transaction():
        return await emit(ctx, scope, type, object_type, object_id, data or {"id": object_id})


def scope_of(account, livemode: bool = False) -> Scope:
    return Scope(account.account["id"], livemode)


def nudging(check: Callable[[], Any], nudge: Callable[[], Awaitable[Any]], every: float = 1.0):
    """`check` as a predicate for `eventually()` that also calls `nudge()` (e.g. emits a marker) once a second."""
    last_nudge = -1e9

    async def predicate() -> Any:
        nonlocal last_nudge
        value = check()
        now = asyncio.get_running_loop().time()
        if not value and now - last_nudge >= every:
            last_nudge = now
            await nudge()
        return value

    predicate.__wrapped__ = check  # type: ignore[attr-defined]  # eventually() names the check, not this wrapper
    return predicate


class WSClient:
    """A graphql-transport-ws subscription that collects `next` payloads in the background."""

    def __init__(self, base_url: Any, init: dict[str, Any], query: str, variables: dict | None = None) -> None:
        self.url = str(base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
        self.init, self.query, self.variables = init, query, variables or {}
        self.received: list[dict[str, Any]] = []
        self.errors: list[Any] = []
        self.task: asyncio.Task | None = None
        self.ws: Any = None

    async def __aenter__(self) -> WSClient:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.ws.send(json.dumps({"type": "connection_init", "payload": self.init}))
        ack = json.loads(await self.ws.recv())
        assert ack["type"] == "connection_ack", ack
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                       "payload": {"query": self.query, "variables": self.variables}}))
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    self.errors.append(message["payload"]["errors"])
                else:
                    self.received.append(next(iter(message["payload"]["data"].values())))
            elif message["type"] == "error":
                self.errors.append(message["payload"])
            elif message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))

    def ids(self) -> list[str]:
        return [e["id"] for e in self.received]

    async def __aexit__(self, *exc: Any) -> None:
        if self.task:
            self.task.cancel()
        await self.ws.close()


class SSEClient:
    """Reads a text/event-stream in the background: (event, id, data) frames."""

    def __init__(self, client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> None:
        self.client, self.path, self.headers = client, path, headers or {}
        self.frames: list[dict[str, str]] = []
        self.status: int | None = None
        self.task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    async def __aenter__(self) -> SSEClient:
        self.task = asyncio.create_task(self._read())
        await asyncio.wait_for(self.connected.wait(), 15)
        return self

    async def _read(self) -> None:
        try:
            async with self.client.stream("GET", self.path, headers=self.headers, timeout=None) as resp:
                self.status = resp.status_code
                self.connected.set()
                if resp.status_code != 200:
                    return
                frame: dict[str, str] = {}
                async for line in resp.aiter_lines():
                    if line == "":
                        if "data" in frame:
                            self.frames.append(frame)
                        frame = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        frame[field] = frame[field] + "\n" + value if field == "data" and field in frame else value
        finally:
            self.connected.set()

    def ids(self) -> list[str]:
        return [f["id"] for f in self.frames]

    async def __aexit__(self, *exc: Any) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
