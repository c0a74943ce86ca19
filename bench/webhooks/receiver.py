"""A minimal webhook receiver for the benchmark, run as its own process.

    python -m bench.webhooks.receiver PORT

POST anything: answers 200 at once and notes (arrival wall time, webhook-id,
event id). GET /stats returns the notes as JSON and clears them.
"""

from __future__ import annotations

import json
import sys
import time

import uvicorn

arrivals: list[tuple[float, str, str]] = []


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "GET":
        payload = json.dumps(arrivals).encode()
        arrivals.clear()
    else:
        at = time.time()
        headers = dict(scope["headers"])
        event_id = ""
        if body.startswith(b'{"id":"'):
            event_id = body[7:body.index(b'"', 7)].decode()
        arrivals.append((at, headers.get(b"webhook-id", b"").decode(), event_id))
        payload = b"ok"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                lifespan="off")
