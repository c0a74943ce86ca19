"""A genuine network fault for live connections: Linux network namespaces joined by a veth pair.

`unshare -rn` gives an unprivileged user a network namespace of its own (the
"server" side, tests/events/netns_node.py); a nested `unshare -n` makes the
"client" side (tests/events/netns_client.py); a veth pair joins them. Taking
the client's end of the link down blackholes every packet of a live
connection: no FIN, no RST, no ACK — a half-open connection, as a closed laptop
or a dead network leaves behind.

The app in the server namespace still needs PostgreSQL and Redis on this
machine's loopback, which a namespace cannot reach: each of their ports is
carried over a Unix socket (the filesystem is shared), by a forwarder here and
one in the namespace listening on the same port number.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path


def namespaces_work() -> bool:
    """Whether this machine lets an unprivileged user make network namespaces and veth pairs."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link add v0 type veth peer name v1"],
                           capture_output=True, timeout=10)
    return probe.returncode == 0


def socket_path(folder: Path, port: int) -> Path:
    return folder / f"{port}.sock"


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def join(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
               b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    await asyncio.gather(pipe(a[0], b[1]), pipe(b[0], a[1]))


@contextlib.asynccontextmanager
async def unix_to_loopback(folder: Path, ports: list[int]) -> AsyncIterator[None]:
    """Unix sockets in `folder` that lead to these loopback TCP ports (this side of the forwarding)."""
    servers = []

    def handler(port: int):
        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                writer.close()
                return
            await join((reader, writer), upstream)
        return forward

    for port in ports:
        servers.append(await asyncio.start_unix_server(handler(port), path=str(socket_path(folder, port))))
    try:
        yield
    finally:
        for server in servers:
            server.close()


async def loopback_to_unix(folder: Path, ports: list[int]) -> list[asyncio.Server]:
    """Loopback TCP ports (inside a namespace) that lead to the Unix sockets of `unix_to_loopback`."""
    servers = []

    def handler(port: int):
        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream = await asyncio.open_unix_connection(str(socket_path(folder, port)))
            await join((reader, writer), upstream)
        return forward

    for port in ports:
        servers.append(await asyncio.start_server(handler(port), "127.0.0.1", port))
    return servers
