"""Half-open live connections are reaped: a client whose network vanishes (no FIN, no RST, no ACK)
stops counting against the process's live connections within heartbeat + dead-after.

The fault is real (tests/events/netns.py): the app runs in a network namespace
of its own, the client in another joined by a veth pair, and the client's end
of the link goes down while it holds an SSE stream and a GraphQL subscription.
The SSE stream's keep-alives go unacknowledged (TCP_USER_TIMEOUT ends it); the
WebSocket's pings go unanswered (the pong timeout closes it). The timeouts are
set small for the test through the settings, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from server.embedded import free_port
from tests.events.netns import namespaces_work, unix_to_loopback
from tests.factories import login, new_account

pytestmark = pytest.mark.skipif(not namespaces_work(),
                                reason="unprivileged network namespaces (unshare -rn, veth) are not allowed here")

SMALL_TIMEOUTS = {"PAYDECK_LIVE_HEARTBEAT_SECONDS": "0.2", "PAYDECK_LIVE_DEAD_AFTER_SECONDS": "2"}


def _loopback_ports() -> list[int]:
    """The servers the app talks to (PostgreSQL, Redis, the processor simulator), by port."""
    ports = []
    for name in ("DATABASE_URL", "REDIS_URL", "PAYDECK_PROCESSOR_URL"):
        port = urlparse(os.environ.get(name, "")).port
        if port:
            ports.append(port)
    return ports


async def test_a_client_whose_network_vanishes_is_reaped(server):
    account = await new_account()
    browser = await login(server, account.user["email"])
    cookie = "; ".join(f"{name}={value}" for name, value in browser.client.cookies.items())
    await browser.client.aclose()
    ports = _loopback_ports()
    with tempfile.TemporaryDirectory(prefix="paydeck-netns-") as folder:
        config = {"folder": folder, "ports": ports, "app_port": free_port(), "cookie": cookie,
                  "key": account.keys["secret_test"]}
        async with unix_to_loopback(Path(folder), ports):
            node = await asyncio.create_subprocess_exec(
                "unshare", "-rn", sys.executable, "-m", "tests.events.netns_node", json.dumps(config),
                stdout=asyncio.subprocess.PIPE, env={**os.environ, **SMALL_TIMEOUTS})
            try:
                out, _ = await asyncio.wait_for(node.communicate(), 120)
            finally:
                if node.returncode is None:  # timed out or cancelled: leave no namespace behind
                    node.kill()
                    await node.wait()
    assert node.returncode == 0, out
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["connected"] and result["open_before"] == 2, result  # an SSE stream and a WebSocket
    assert result["reaped"], result  # both gone: the live-connection count and the hub's subscribers
    assert result["open_after"] == 0 and result["subscribers_after"] == 0, result
