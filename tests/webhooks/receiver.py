"""A real HTTP receiver on 127.0.0.1 for webhook tests: records requests, answers as told."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from server import embedded
from tests.support import eventually


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float


Reply = tuple[int, dict[str, str], str]


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    reply: Callable[[Received], Reply] = lambda r: (200, {}, "ok")
    delay: float = 0.0  # seconds before answering (a slow or hanging receiver)
    active: int = 0  # requests being answered right now
    max_active: int = 0

    async def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        """The requests received, once there are at least `count`."""
        return await eventually(lambda: self.requests if len(self.requests) >= count else None, timeout=within,
                                message=lambda: f"{count} requests, {len(self.requests)} received")


@contextlib.asynccontextmanager
async def receiver(path: str = "/hooks") -> AsyncIterator[Receiver]:
    port = embedded.free_port()
    rec = Receiver(url=f"http://127.0.0.1:{port}{path}")

    async def app(scope: dict[str, Any], receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        got = Received(scope["path"], {k.decode(): v.decode() for k, v in scope["headers"]}, body.decode(),
                       time.monotonic())
        rec.requests.append(got)
        rec.active += 1
        rec.max_active = max(rec.max_active, rec.active)
        try:
            if rec.delay:
                await asyncio.sleep(rec.delay)
        finally:
            rec.active -= 1
        status, headers, text = rec.reply(got)
        all_headers = {"content-type": "text/plain", **headers}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()]})
        await send({"type": "http.response.body", "body": text.encode()})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off",
                                           timeout_graceful_shutdown=1))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # it could not start: raise why
        return server.started

    await eventually(started, message=f"the receiver on port {port} to start")
    try:
        yield rec
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
