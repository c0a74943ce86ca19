"""Spreading the shared port's connections over the web processes that accept from it.

Every web process accepts from the one socket the parent bound (server/webpool.py). Left to the event
loop, a process accepts every connection waiting when it wakes, so a client's pool of keep-alive
connections, opened together, mostly lands on one process while the others idle: 6 or 7 of a benchmark's
8 connections in three runs of four, and all 8 of a payments run's (BENCHMARKS.md "Scale-out"). A merchant
whose backend keeps such a pool then gets one core of a many-core server.

Here a process accepts one connection at a time. While it holds more open connections than the
least-loaded of the others, it leaves a waiting connection for DEFER_SECONDS, so that a less loaded
process takes it, and then takes it itself if none did: a sibling that is busy, stopped or being
restarted delays a new connection by at most that much, and a single process never waits. Each process
publishes its count of open connections in a shared array (one slot each, written by its owner only;
the parent marks a slot NOT_ACCEPTING before its process starts and after it stops); a slot read a moment
late only makes the spread a connection less even.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

DEFER_SECONDS = 0.002
PUBLISH_SECONDS = 0.5  # closed connections reach the shared count at least this often
# What accept() may say when the process or the machine is out of descriptors or memory: wait, then try
# again, as asyncio's own server does, instead of spinning on a socket that stays readable.
RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
RESOURCE_PAUSE_SECONDS = 1.0


NOT_ACCEPTING = -1  # a slot whose process has not started accepting, or has stopped: nobody defers to it


class Loads:
    """The open-connection counts of the processes sharing a port: `slots` is a shared integer array
    (multiprocessing `Array("i", n)`) or None for a process alone."""

    def __init__(self, slots: Any, index: int) -> None:
        self.slots, self.index = slots, index

    def publish(self, count: int) -> None:
        if self.slots is not None:
            self.slots[self.index] = count

    def accepting(self) -> dict[str, int]:
        """How many of the processes accept connections now, of how many."""
        slots = [] if self.slots is None else list(self.slots)
        return {"accepting": sum(n != NOT_ACCEPTING for n in slots), "of": len(slots)}

    def ahead(self, count: int) -> bool:
        """Whether this process holds more connections than the least loaded of the others."""
        if self.slots is None:
            return False
        others = [self.slots[i] for i in range(len(self.slots)) if i != self.index]
        return count > min((n for n in others if n != NOT_ACCEPTING), default=count)


class FairAcceptor:
    """Accepts from a listening socket as this module says, handing each connection to `protocol_factory`.

    It stands where uvicorn keeps its asyncio servers (`close()`, `wait_closed()`), so uvicorn's shutdown
    stops it with them."""

    def __init__(self, sock: socket.socket, protocol_factory: Callable[[], asyncio.Protocol],
                 open_connections: Callable[[], int], loads: Loads, ssl: Any = None,
                 defer_seconds: float = DEFER_SECONDS) -> None:
        self.sock, self.protocol_factory, self.ssl = sock, protocol_factory, ssl
        self.defer_seconds = defer_seconds
        self.open_connections, self.loads = open_connections, loads
        self._handing_over = 0  # accepted, not yet counted by the server (connection_made still to come)
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.sock.setblocking(False)
        self._publish_now()
        self._listen()
        self._loop.call_later(PUBLISH_SECONDS, self._publish_regularly)

    def close(self) -> None:
        self._closed = True
        self._unlisten()
        self.loads.publish(NOT_ACCEPTING)
        if self._timer is not None:
            self._timer.cancel()

    async def wait_closed(self) -> None:  # uvicorn awaits it once its connections are done
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _count(self) -> int:
        return self.open_connections() + self._handing_over

    def _publish_now(self) -> None:
        if not self._closed:
            self.loads.publish(self._count())

    def _publish_regularly(self) -> None:
        if not self._closed and self._loop is not None:
            self._publish_now()
            self._loop.call_later(PUBLISH_SECONDS, self._publish_regularly)

    def _listen(self) -> None:
        if not self._closed and self._loop is not None:
            self._loop.add_reader(self.sock.fileno(), self._readable)

    def _unlisten(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())

    def _readable(self) -> None:
        count = self._count()
        self.loads.publish(count)
        if self.loads.ahead(count):  # let a less loaded process take it; take it later if none does
            self._pause(self.defer_seconds)
            return
        self._accept_one()

    def _pause(self, seconds: float) -> None:
        assert self._loop is not None
        self._unlisten()
        self._timer = self._loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        self._timer = None
        if not self._closed:
            self._accept_one()
            if self._timer is None:
                self._listen()

    def _accept_one(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another process took it, or its client gave up first
        except OSError as exc:
            if exc.errno not in RESOURCE_ERRORS:
                raise
            log.error("cannot accept connections (%s); trying again in %.0f s", exc, RESOURCE_PAUSE_SECONDS)
            self._pause(RESOURCE_PAUSE_SECONDS)
            return
        conn.setblocking(False)
        with contextlib.suppress(OSError):  # uvloop sets it too; asyncio's own loop does not
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._handing_over += 1
        task = asyncio.get_running_loop().create_task(self._hand_over(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hand_over(self, conn: socket.socket) -> None:
        assert self._loop is not None
        try:
            await self._loop.connect_accepted_socket(self.protocol_factory, conn, ssl=self.ssl)
        except Exception:  # a TLS handshake that failed, a client gone: that connection only
            log.debug("a connection ended before it was served", exc_info=True)
            conn.close()
        finally:
            self._handing_over -= 1
            self._publish_now()
