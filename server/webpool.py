"""Several web processes on one port: `paydeck run`/`web --processes N`.

The parent process keeps everything that must exist once: the data folder's
embedded servers (it owns them, server.ownership, and its supervisor restarts
them), the background workers of `paydeck run` (safe anywhere, but one set is
enough), and the listening socket. It binds the socket once and hands it to N
children started with the `spawn` method; they all accept from the same
queue, so a child that dies takes no queued connection with it, and the
parent starts a new one. They take turns by load (server.fairaccept): a
client's pool of keep-alive connections reaches every child.

Each child is a complete app (create_app without workers): its own pool, its
own Redis subscription (the events hub), its own API-log writer. They share
nothing in memory; everything that must agree across them lives in
PostgreSQL or Redis (sessions, rate limits, idempotency, key revocation).

A child dies with the parent (a parent-death signal, and it checks the parent
is still the one that started it), sits in its own process group so a
terminal's Ctrl-C reaches only the parent, which forwards the signal and waits
for the children to drain. `/healthz` in a child reports what the parent's
supervisor knows about the embedded servers: the parent writes it to a
shared buffer that each child mirrors into server.health.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from server import health, metrics
from server.fairaccept import NOT_ACCEPTING, FairAcceptor, Loads
from server.supervisor import forget_broken_connections

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
CHECK_SECONDS = 0.5
RESPAWN_PAUSE_SECONDS = 1.0
HEALTH_BYTES = 8192


def default_processes() -> int:
    """One web process per core the machine has."""
    return os.cpu_count() or 1


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The one listening socket every web process accepts from.

    Accepted connections inherit its TCP options, which reap half-open ones (a
    laptop closed, a network gone) within a minute: a live stream sends a
    heartbeat every PAYDECK_LIVE_HEARTBEAT_SECONDS (server.events.sse's
    keep-alive, the GraphQL WebSocket's ping), and data its client's TCP
    leaves unacknowledged for PAYDECK_LIVE_DEAD_AFTER_SECONDS ends the
    connection; an idle one is probed after 20 s of silence.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    _reap_half_open(sock)
    sock.bind(address)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _reap_half_open(sock: socket.socket) -> None:
    from server.settings import get_settings

    unacked_ms = int(get_settings().live_dead_after_seconds * 1000)
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_USER_TIMEOUT", unacked_ms), ("TCP_KEEPIDLE", 20), ("TCP_KEEPINTVL", 5),
                        ("TCP_KEEPCNT", 4)):
        if hasattr(socket, name):  # Linux has them all; elsewhere the kernel's defaults apply
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    for level, option, value in options:
        with contextlib.suppress(OSError):
            sock.setsockopt(level, option, value)


@dataclass
class ChildArgs:
    """What a web process needs besides the environment (which carries the servers' URLs)."""

    sock: socket.socket
    host: str
    port: int
    parent_pid: int
    index: int
    health_state: Any  # a multiprocessing Array of bytes: the parent's health JSON
    loads: Any  # a multiprocessing Array of ints: each process's open connections (server.fairaccept)


def _die_with_parent(parent_pid: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    os.setpgid(0, 0)  # a terminal's Ctrl-C goes to the parent only; it forwards it


def child_main(args: ChildArgs) -> None:
    """A web process: the app without workers, serving the parent's socket until told to stop."""
    _die_with_parent(args.parent_pid)
    from server import logs
    from server.settings import get_settings

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    settings.host, settings.port = args.host, args.port
    os.environ["PAYDECK_PROCESS_INDEX"] = str(args.index)
    loads = Loads(args.loads, args.index)
    server, loop_factory = _uvicorn_server(settings, loads)

    health.parent_view = lambda: _parent_view(args.health_state)  # /healthz, /readyz: the parent's supervisor
    health.web_processes = loads.accepting

    async def main() -> None:
        mirror = asyncio.create_task(_follow_restarts(args.health_state), name="follow-restarts")
        try:
            await server.serve(sockets=[args.sock])
        finally:
            mirror.cancel()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def DrainingServer(config: Any, drain_seconds: float, loads: Loads | None = None) -> Any:  # noqa: N802
    """A uvicorn server whose readiness fails before it stops accepting requests, and which accepts from
    the sockets it is given one connection at a time, spread by `loads` over the processes sharing them
    (server.fairaccept). A factory that reads like a class: uvicorn is imported late."""
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            if not sockets:
                await super().startup(sockets)
                return
            await super().startup(sockets=[])  # the app's lifespan, and no acceptor of uvicorn's own
            if self.should_exit:
                return
            state, cfg = self.server_state, self.config

            def protocol() -> asyncio.Protocol:  # what uvicorn's own server makes for each connection
                return cfg.http_protocol_class(config=cfg, server_state=state,  # type: ignore[call-arg]
                                               app_state=self.lifespan.state)

            acceptors = [FairAcceptor(sock, protocol, lambda: len(state.connections), loads or Loads(None, 0),
                                      ssl=cfg.ssl) for sock in sockets]
            for acceptor in acceptors:
                acceptor.start()
            self.servers = acceptors  # type: ignore[assignment]  # uvicorn's shutdown calls close(), as on its own

        @contextlib.contextmanager
        def capture_signals(self):
            # Like uvicorn's, minus re-raising the signal afterwards: our caller
            # still has embedded servers to stop once the app has shut down.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig: int, frame: Any) -> None:
            health.request_stop()
            if sig == signal.SIGTERM and drain_seconds > 0 and not self.should_exit:
                loop = asyncio.get_event_loop()
                loop.call_later(drain_seconds, super().handle_exit, sig, frame)
                return
            super().handle_exit(sig, frame)

    return _Server(config)


def _uvicorn_server(settings: Any, loads: Loads) -> tuple[Any, Any]:
    import uvicorn

    from server.app import create_app

    app = create_app(settings, run_workers=False)
    config = uvicorn_config(uvicorn, app, settings)
    return DrainingServer(config, drain_seconds=settings.drain_seconds, loads=loads), config.get_loop_factory()


def uvicorn_config(uvicorn: Any, app: Any, settings: Any) -> Any:
    """The one uvicorn configuration, for a single process and for each of several."""
    from server.wsprotocol import LeanWebSocketProtocol  # imports uvicorn, which the caller loaded lazily

    return uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on", log_level="warning",
                          log_config=None, timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
                          timeout_keep_alive=settings.keep_alive_seconds,
                          ws=LeanWebSocketProtocol, proxy_headers=False,
                          # a GraphQL WebSocket whose client stops answering pings is closed (a half-open one)
                          ws_ping_interval=settings.live_heartbeat_seconds,
                          ws_ping_timeout=settings.live_dead_after_seconds,
                          # GraphQL subscription messages are small JSON: compressing them is not worth a zlib
                          # state per WebSocket (most of a connection's memory, BENCHMARKS.md "Scale-out").
                          ws_per_message_deflate=False)


def _parent_view(state: Any) -> dict[str, Any]:
    try:
        return json.loads(bytes(state.value).decode() or "{}")
    except ValueError:
        return {}


async def _follow_restarts(state: Any) -> None:
    """When the parent has started an embedded server again, drop this process's connections to the old one."""
    restarts = 0
    while True:
        seen = _parent_view(state).get("restarts", 0)
        if seen != restarts:
            restarts = seen
            await forget_broken_connections()
        await asyncio.sleep(CHECK_SECONDS)


class WebPool:
    """The parent's side: start N web processes, start a new one when one dies, stop them all."""

    def __init__(self, host: str, port: int, processes: int, stop_timeout: float) -> None:
        self.host, self.port, self.count = host, port, processes
        self.stop_timeout = stop_timeout
        self.ctx = multiprocessing.get_context("spawn")
        self.health_state = self.ctx.Array("c", HEALTH_BYTES)
        # Each slot is written by its own process only, so the array needs no lock.
        self.loads = self.ctx.Array("i", [NOT_ACCEPTING] * processes, lock=False)
        self.sock: socket.socket | None = None
        self.children: dict[int, BaseProcess] = {}
        self.respawned = 0
        self.forwarded: int | None = None
        self._published = ""
        self.restarts: Callable[[], int] = lambda: 0  # the embedded servers started again (server.supervisor)

    def start(self) -> None:
        self.sock = bind(self.host, self.port)
        for index in range(self.count):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        assert self.sock is not None
        self.loads[index] = NOT_ACCEPTING  # until it accepts; whatever the process before it held is gone
        args = ChildArgs(self.sock, self.host, self.port, os.getpid(), index, self.health_state, self.loads)
        child = self.ctx.Process(target=child_main, args=(args,), name=f"paydeck-web-{index}", daemon=False)
        child.start()
        self.children[index] = child

    def pids(self) -> list[int]:
        return [c.pid for c in self.children.values() if c.pid is not None]

    def publish_health(self) -> None:
        text = json.dumps({"recovering": health.recovering, "unrecoverable": health.unrecoverable,
                           "restarts": self.restarts()})
        if text != self._published and len(text) < HEALTH_BYTES:
            self.health_state.value = text.encode()  # type: ignore[attr-defined]  # a "c" Array has .value
            self._published = text

    async def watch(self, stop: asyncio.Event) -> None:
        """Until `stop`: keep N children alive and their health view current."""
        while not stop.is_set():
            self.publish_health()
            for index, child in list(self.children.items()):
                if not child.is_alive() and self.forwarded is None:
                    self.loads[index] = NOT_ACCEPTING  # its siblings stop leaving connections for it
                    if child.pid is not None:
                        metrics.process_gone(child.pid)
                    log.error("web process %d (pid %s) stopped (exit code %s); starting another",
                              index, child.pid, child.exitcode)
                    await asyncio.sleep(RESPAWN_PAUSE_SECONDS)
                    if not stop.is_set():
                        self._spawn(index)
                        self.respawned += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CHECK_SECONDS)

    def forward(self, sig: int) -> None:
        """Pass `sig` on at once (each child drains as a single process would). Safe in a signal handler."""
        self.forwarded = sig
        for child in self.children.values():
            if child.pid is not None and child.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, sig)

    async def stop(self, sig: int) -> None:
        """Pass `sig` on unless already done, wait for the children, then kill stragglers."""
        if self.forwarded is None:
            self.forward(sig)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            await asyncio.to_thread(child.join, max(0.0, deadline - time.monotonic()))
        for child in self.children.values():
            if child.is_alive():
                log.error("web process %s did not stop within %.0fs; killing it", child.pid, self.stop_timeout)
                child.kill()
            child.join(5)
        if self.sock is not None:
            self.sock.close()
