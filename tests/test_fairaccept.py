"""Acceptors sharing one listening socket leave new connections to the least loaded of them
(server.fairaccept), on a real socket with real client connections; the processes' shared array is a
plain list here (tests/test_scale_out.py has two real web processes)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from server.fairaccept import DEFER_SECONDS, NOT_ACCEPTING, FairAcceptor, Loads
from server.webpool import bind
from tests.support import eventually


class Held(asyncio.Protocol):
    """A server side that keeps its connections, as uvicorn's does for keep-alive."""

    def __init__(self, into: set[Held]) -> None:
        self.into = into

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.into.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.into.discard(self)


class Side:
    """One acceptor of the shared socket, with the connections it holds and `already` more it pretends to.
    Each has a descriptor of its own for the socket, as each web process has."""

    def __init__(self, sock: socket.socket, slots: list[int] | None, index: int, already: int = 0,
                 defer_seconds: float = DEFER_SECONDS) -> None:
        self.held: set[Held] = set()
        self.fd = sock.dup()
        self.acceptor = FairAcceptor(self.fd, lambda: Held(self.held), lambda: len(self.held) + already,
                                     Loads(slots, index), defer_seconds=defer_seconds)

    def close(self) -> None:
        self.acceptor.close()
        self.fd.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = bind("127.0.0.1", 0)
    yield sock
    sock.close()


async def _connect(sock: socket.socket, n: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(n):
        _, writer = await asyncio.open_connection(*sock.getsockname())
        writers.append(writer)
    return writers


@contextlib.asynccontextmanager
async def serving(*sides: Side) -> AsyncIterator[list[asyncio.StreamWriter]]:
    """The sides accepting, and a list for the test's client connections; afterwards both are closed."""
    clients: list[asyncio.StreamWriter] = []
    for side in sides:
        side.acceptor.start()
    try:
        yield clients
    finally:
        for side in sides:
            side.close()
        for writer in clients:
            writer.close()


async def _served(sides: list[Side], total: int) -> None:
    await eventually(lambda: sum(len(s.held) for s in sides) == total, timeout=10, every=0.01)


async def test_a_new_connection_goes_to_the_less_loaded_acceptor(listener):
    """The loaded acceptor leaves every waiting connection to the idle one (given all the time it needs here:
    a 2 ms deferral on a loaded test machine would let it take one back, which is its job when a sibling is
    slow, and not what this test is about)."""
    slots = [NOT_ACCEPTING, NOT_ACCEPTING]
    busy, idle = Side(listener, slots, 0, already=3, defer_seconds=30), Side(listener, slots, 1)
    async with serving(busy, idle) as clients:
        clients += await _connect(listener, 3)
        await _served([busy, idle], 3)
        assert (len(busy.held), len(idle.held)) == (0, 3)
        assert slots == [3, 3]  # each published what it holds
    assert slots == [NOT_ACCEPTING, NOT_ACCEPTING]  # a stopped acceptor is left nothing


async def test_a_loaded_acceptor_still_takes_what_nobody_else_takes(listener):
    """A sibling that says it holds nothing but does not accept (busy, stuck) delays a connection by a
    moment only; one that does not accept at all is not waited for."""
    slots = [NOT_ACCEPTING, 0]  # the sibling's slot: an idle process that never accepts
    loaded = Side(listener, slots, 0, already=5)
    async with serving(loaded) as clients:
        clients += await _connect(listener, 2)
        await _served([loaded], 2)
        slots[1] = NOT_ACCEPTING
        clients += await _connect(listener, 1)
        await _served([loaded], 3)


async def test_a_process_alone_accepts_at_once(listener):
    alone = Side(listener, None, 0, already=100)
    async with serving(alone) as clients:
        clients += await _connect(listener, 3)
        await _served([alone], 3)
