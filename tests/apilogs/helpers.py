"""Log records for tests: built as the capture middleware would build them, stored by the real writer."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime

from server.apilogs.capture import RawCapture
from server.apilogs.writer import LogWriter
from server.ids import new_id
from server.settings import get_settings


def new_account_id() -> str:
    return f"acct_t{secrets.token_hex(10)}"


def capture(account_id: str, *, livemode: bool = False, at: datetime | None = None, method: str = "GET",
            path: str = "/v1/account", status: int = 200, body: object = b"", response: object = b"{}",
            key_id: str | None = "key_test", source: str = "api", headers: list[tuple[str, str]] | None = None,
            query: str = "", user_id: str | None = None) -> RawCapture:
    started = at.timestamp() if at else time.time()

    def as_bytes(value: object) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode()
        return json.dumps(value).encode()

    def raw_headers(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:  # as the ASGI server gives them
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]

    return RawCapture(
        request_id=new_id("req", int(started * 1000)), started=started, duration_ms=1.5, method=method, path=path,
        query_string=query.encode(),
        request_headers=raw_headers([("content-type", "application/json"), *(headers or [])]),
        request_body=as_bytes(body), status=status,
        response_headers=raw_headers([("content-type", "application/json")]),
        response_body=as_bytes(response), response_total=len(as_bytes(response)), client_ip="127.0.0.1",
        auth={"account_id": account_id, "livemode": livemode, "source": source, "api_key_id": key_id,
              "api_key_type": "secret" if key_id else None, "user_id": user_id},
    )


async def store(*captures: RawCapture) -> list[str]:
    """Write the captures through a LogWriter (redaction, partitions, COPY); returns their ids."""
    writer = LogWriter(get_settings())
    for raw in captures:
        writer.add(raw)
    await writer.flush()
    return [raw.request_id for raw in captures]
