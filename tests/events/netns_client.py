"""The client side of tests/events/test_half_open.py, in a network namespace nested in the node's.

Told "go", it configures its end of the veth pair, opens a dashboard SSE
stream (raw socket, the session's cookie) and a GraphQL subscription
(graphql-transport-ws, an API key), and says "connected". Told "cut", it takes
its end of the link down, so every later packet of both connections is lost,
says "cut", and holds the connections (it never closes them) until killed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import websockets

from tests.events.netns_node import CLIENT_ADDRESS, SERVER_ADDRESS


def say(word: str) -> None:
    print(word, flush=True)


async def heard(stdin: asyncio.StreamReader, word: str) -> None:
    line = (await stdin.readline()).decode().strip()
    if line != word:
        raise RuntimeError(f"told {line!r}, expected {word!r}")


async def open_sse(port: int, cookie: str) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection(SERVER_ADDRESS, port)
    writer.write(f"GET /events/stream HTTP/1.1\r\nHost: {SERVER_ADDRESS}\r\nAccept: text/event-stream\r\n"
                 f"Cookie: {cookie}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b": connected"), 15)
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"the stream answered {head[:200]!r}")
    return writer


async def open_subscription(port: int, key: str):
    ws = await websockets.connect(f"ws://{SERVER_ADDRESS}:{port}/graphql", subprotocols=["graphql-transport-ws"],
                                  ping_interval=None)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
    ack = json.loads(await ws.recv())
    if ack["type"] != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": "subscription { events { id } }", "variables": {}}}))
    return ws


async def main(config: dict) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    say("ready")
    await heard(stdin, "go")
    await asyncio.to_thread(_link_up)
    sse = await open_sse(config["app_port"], config["cookie"])
    ws = await open_subscription(config["app_port"], config["key"])
    say("connected")
    await heard(stdin, "cut")
    await asyncio.to_thread(subprocess.run, ["ip", "link", "set", "v1", "down"], check=True)
    say("cut")
    await asyncio.sleep(3600)  # holding both connections; killed by the node
    sse.close()
    await ws.close()


def _link_up() -> None:
    import time

    for _ in range(200):  # the node moves v1 here after "ready"
        if subprocess.run(["ip", "link", "show", "v1"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{CLIENT_ADDRESS}/24", "dev", "v1"], check=True)
    subprocess.run(["ip", "link", "set", "v1", "up"], check=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
