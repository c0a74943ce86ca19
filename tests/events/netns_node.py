"""The server side of tests/events/test_half_open.py, run as `unshare -rn python -m tests.events.netns_node`.

In its own network namespace it starts the app (as `paydeck web` would, on a
socket from server.webpool.bind), a client in a nested namespace joined by a
veth pair, lets the client open an SSE stream and a GraphQL subscription, has
it take its end of the link down, and reports (one JSON line on stdout)
whether this process's live connections went away.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.events.netns import loopback_to_unix

SERVER_ADDRESS = "10.77.0.1"
CLIENT_ADDRESS = "10.77.0.2"
REAP_WITHIN_SECONDS = 30.0


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def wait_for(check, within: float) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def main(config: dict) -> None:
    import uvicorn

    from server.app import create_app
    from server.events.hub import hub
    from server.events.limits import live
    from server.settings import get_settings
    from server.webpool import bind, uvicorn_config

    ip("link", "set", "lo", "up")
    forwarders = await loopback_to_unix(Path(config["folder"]), config["ports"])
    ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    ip("addr", "add", f"{SERVER_ADDRESS}/24", "dev", "v0")
    ip("link", "set", "v0", "up")

    settings = get_settings()
    settings.host, settings.port = SERVER_ADDRESS, config["app_port"]
    server = uvicorn.Server(uvicorn_config(uvicorn, create_app(settings, run_workers=False), settings))
    serving = asyncio.create_task(server.serve(sockets=[bind(SERVER_ADDRESS, config["app_port"])]))
    await wait_for(lambda: server.started, 30)

    client = await asyncio.create_subprocess_exec(
        "unshare", "-n", sys.executable, "-m", "tests.events.netns_client", json.dumps(config),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert client.stdin is not None and client.stdout is not None

    async def said(word: str) -> None:
        line = (await asyncio.wait_for(client.stdout.readline(), 30)).decode().strip()  # type: ignore[union-attr]
        if line != word:
            raise RuntimeError(f"the client said {line!r}, not {word!r}")

    try:
        await said("ready")  # in its namespace now: hand it its end of the link
        ip("link", "set", "v1", "netns", str(client.pid))
        client.stdin.write(b"go\n")
        await said("connected")
        connected = await wait_for(lambda: live.open == 2 and hub().connections == 2, 15)
        open_before = live.open
        client.stdin.write(b"cut\n")
        await said("cut")
        cut_at = time.monotonic()
        reaped = await wait_for(lambda: live.open == 0 and hub().connections == 0, REAP_WITHIN_SECONDS)
        report(connected=connected, open_before=open_before, reaped=reaped, open_after=live.open,
               subscribers_after=hub().connections, seconds=round(time.monotonic() - cut_at, 2))
    finally:
        client.kill()
        await client.wait()
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        for forwarder in forwarders:
            forwarder.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
