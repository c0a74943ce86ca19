"""`paydeck listen`: receive the account's events and forward them, signed, to a local URL.

Authenticates with an API key, follows `GET /v1/events` (newest first, polled
twice a second), and POSTs each new event to `--forward-to` with Standard
Webhooks headers signed by a session secret printed at start (or `--secret`),
printing each with the local server's answer. Events already there when it
starts are not forwarded. It runs on the developer's machine, so forwarding
to localhost is the point: no SSRF check applies to this client.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from server import clock
from server.webhooks import signing
from server.webhooks.signing import matches

POLL_SECONDS = 0.5
SEEN_KEEP = 5000


class Listener:
    def __init__(self, api_url: str, api_key: str, forward_to: str, *, secret: str | None = None,
                 types: list[str] | None = None, out: Callable[[str], None] = print) -> None:
        self.api = httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=15,
                                     headers={"Authorization": f"Bearer {api_key}"})
        self.local = httpx.AsyncClient(timeout=15, follow_redirects=False)
        self.forward_to = forward_to
        self.secret = secret or signing.new_secret()
        self.types = types or ["*"]
        self.out = out
        self.seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.forwarded = 0

    async def _page(self) -> list[dict[str, Any]]:
        resp = await self.api.get("/v1/events", params={"limit": 100})
        if resp.status_code != 200:
            raise RuntimeError(f"GET /v1/events answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()["data"]

    def _remember(self, event_id: str) -> None:
        self.seen[event_id] = None
        while len(self.seen) > SEEN_KEEP:
            self.seen.popitem(last=False)

    async def start(self) -> None:
        """Note the events already there; only later ones are forwarded."""
        for event in await self._page():
            self._remember(event["id"])
        self.out(f"Ready! Forwarding events to {self.forward_to}. Signing secret: {self.secret} (Ctrl-C stops)")

    async def poll_once(self) -> int:
        fresh = [e for e in reversed(await self._page()) if e["id"] not in self.seen]
        for event in fresh:
            self._remember(event["id"])
            if matches(self.types, event["type"]):
                await self.forward(event)
        return len(fresh)

    async def forward(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":"))
        headers = signing.headers([self.secret], f"msg_{event['id']}", clock.wall(), body)
        started = time.perf_counter()
        try:
            resp = await self.local.post(self.forward_to, content=body.encode(), headers=headers)
            outcome = f"[{resp.status_code}]"
        except httpx.HTTPError as exc:
            outcome = f"[error: {type(exc).__name__}]"
        self.forwarded += 1
        ms = (time.perf_counter() - started) * 1000
        self.out(f"{clock.wall():%H:%M:%S}  --> {event['type']} [{event['id']}]  <-- {outcome} {ms:.0f} ms")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        await self.start()
        while not stop.is_set():
            try:
                await self.poll_once()
            except (httpx.HTTPError, RuntimeError) as exc:
                self.out(f"could not fetch events: {exc}; retrying")
            try:
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            except TimeoutError:
                pass

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.local.aclose()
