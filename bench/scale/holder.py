"""A light client that holds many live connections to one web process, in a process of its own.

    python -m bench.scale.holder '{"kind": "sse"|"ws"|"redis", "n": 10000, "port": P, "cookie": "...", "key": "..."}'

Raw asyncio sockets, no HTTP or WebSocket library: an SSE stream is a GET
read up to its `: connected` comment; a GraphQL subscription is a hand-made
WebSocket upgrade (graphql-transport-ws), `connection_init`, its ack, and a
`subscribe`. Each connection then has one small task that reads and discards
what arrives, answering the server's WebSocket pings (so the server's
heartbeat does not reap it). It prints `opened N` once all are open (or
`failed ...`), then holds them until stdin closes or says `close`.

With `"record": true` each connection also notes when each event id (or,
for the Redis reference, each `ref:N` key) arrives, on the machine-wide
monotonic clock, and answers commands on stdin, one a line:
`count` (connections that received anything since the last `reset`),
`total` (arrivals recorded), `reset`, and `commits {"id": monotonic time of
its COMMIT, ...}`, answered with the latency percentiles as one JSON line. It runs on uvloop,
like the server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import sys
import time
from typing import Any

import uvloop

OPEN_AT_ONCE = 200

PING, PONG, TEXT, CLOSE = 0x9, 0xA, 0x1, 0x8


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    length = len(payload)
    head = bytes([0x80 | opcode])
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", length)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)


async def open_sse(port: int, cookie: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 f"Cookie: {cookie}\r\n\r\n".encode())
    head = await reader.readuntil(b": connected")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    return reader, writer


async def open_ws(port: int, key: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    nonce = base64.b64encode(os.urandom(16)).decode()
    writer.write(f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                 f"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}
    writer.write(ws_frame(TEXT, json.dumps(init).encode()))
    while True:
        opcode, payload = await read_frame(reader)
        if opcode == TEXT and json.loads(payload)["type"] == "connection_ack":
            break
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { id } }"}}
    writer.write(ws_frame(TEXT, json.dumps(subscribe).encode()))
    return reader, writer


IDS = {"sse": re.compile(rb"\nid: (evt_\w+)"), "ws": re.compile(rb'"id":\s*"(evt_\w+)"'),
       "redis": re.compile(rb"(ref:\d+)")}
CARRY = 64  # an id split across two reads is found in the next one


class Arrivals:
    """When each id reached each connection (ids found by a pattern in the raw bytes)."""

    def __init__(self, kind: str) -> None:
        self.pattern = IDS[kind]
        self.times: dict[bytes, list[float]] = {}
        self.reached: set[int] = set()

    def feed(self, connection: int, tail: bytes, data: bytes) -> bytes:
        now = time.monotonic()
        text = tail + data
        end = 0
        for match in self.pattern.finditer(text):
            self.times.setdefault(match.group(1), []).append(now)
            self.reached.add(connection)
            end = match.end()
        return text[max(end, len(text) - CARRY):]

    def reset(self) -> None:
        self.times.clear()
        self.reached.clear()

    def stats(self, commits: dict[str, float], connections: int) -> dict[str, float]:
        latencies = sorted(at - commits[key.decode()] for key, ats in self.times.items()
                           if key.decode() in commits for at in ats)
        def pct(q: float) -> float:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
        return {"samples": len(latencies), "expected": len(commits) * connections, "p50": pct(0.5),
                "p99": pct(0.99), "max": latencies[-1] * 1000 if latencies else 0.0}


async def record(index: int, reader: asyncio.StreamReader, arrivals: Arrivals,
                 writer: asyncio.StreamWriter | None) -> None:
    """Note arrivals; on a WebSocket, answer pings (found by their opcode at a frame start: good enough while
    the server sends pings only between messages, as uvicorn does)."""
    tail = b""
    while data := await reader.read(65536):
        tail = arrivals.feed(index, tail, data)
        if writer is not None and data[0] == 0x80 | PING and len(data) >= 2 and len(data) == 2 + (data[1] & 0x7F):
            writer.write(ws_frame(PONG, data[2:]))


async def open_redis(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"SUBSCRIBE bench:reference\r\n")
    await reader.readuntil(b":1\r\n")
    return reader, writer


async def commands(arrivals: Arrivals, connections: int) -> None:
    while line := await asyncio.to_thread(sys.stdin.readline):
        word, _, rest = line.strip().partition(" ")
        if word == "count":
            print(f"count {len(arrivals.reached)}", flush=True)
        elif word == "total":
            print(f"total {sum(len(v) for v in arrivals.times.values())}", flush=True)
        elif word == "reset":
            arrivals.reset()
            print("reset", flush=True)
        elif word == "commits":
            print(json.dumps(arrivals.stats(json.loads(rest), connections)), flush=True)
        elif word == "close":
            return


async def drain_sse(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


async def drain_ws(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        opcode, payload = await read_frame(reader)
        if opcode == PING:
            writer.write(ws_frame(PONG, payload))
        elif opcode == CLOSE:
            return


async def main(config: dict[str, Any]) -> None:
    kind, n, port = config["kind"], config["n"], config["port"]
    held: list[asyncio.StreamWriter] = []
    readers: list[asyncio.Task] = []

    arrivals = Arrivals(kind) if config.get("record") else None

    async def one() -> None:
        if kind == "sse":
            reader, writer = await open_sse(port, config["cookie"])
        elif kind == "ws":
            reader, writer = await open_ws(port, config["key"])
        else:
            reader, writer = await open_redis(config["redis_port"])
        if arrivals is not None:
            readers.append(asyncio.create_task(record(len(held), reader, arrivals, writer if kind == "ws" else None)))
        elif kind == "sse":
            readers.append(asyncio.create_task(drain_sse(reader)))
        else:
            readers.append(asyncio.create_task(drain_ws(reader, writer)))
        held.append(writer)

    try:
        for start in range(0, n, OPEN_AT_ONCE):
            await asyncio.wait_for(asyncio.gather(*(one() for _ in range(min(OPEN_AT_ONCE, n - start)))), 120)
    except Exception as exc:  # noqa: BLE001 - reported to the benchmark, which stops
        print(f"failed after {len(held)}: {exc!r}", flush=True)
        return
    print(f"opened {len(held)}", flush=True)
    if arrivals is not None:
        await commands(arrivals, n)
    else:
        await asyncio.to_thread(sys.stdin.readline)
    for writer in held:
        writer.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


if __name__ == "__main__":
    # uvloop, as the server runs: at 10,000 connections x 5 events/s the holder reads 50,000 messages a second,
    # and on asyncio's own loop its reading was a large part of what the benchmark measured.
    uvloop.run(main(json.loads(sys.argv[1])))
