"""uvicorn's WebSocket protocol (websockets' sans-I/O implementation), minus what a held connection never reads.

uvicorn keeps the handshake's parsed request and its response, each with websockets' own header table, for
the connection's life, though neither is read once the response is sent: the ASGI scope already carries
the request's headers. A live GraphQL subscription is held for hours, and 10,000 of them per process is the
aim (BENCHMARKS.md "Scale-out": the two tables are ~2 KiB of a WebSocket's ~25 KiB).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and "request" in self.__dict__:
            # After the accept (or a refusal) nothing reads them again; a refusal closes the transport anyway.
            del self.request
            del self.response
