"""CSV straight from PostgreSQL: `COPY (query) TO STDOUT`, read chunk by chunk with bounded memory.

The COPY runs in a task of its own (a fresh context: no caller's transaction is joined) and hands its
chunks to a small queue; when the reader falls behind, the queue is full, the task waits, asyncpg stops
reading the socket and PostgreSQL waits too. So a million-row export holds a few chunks at a time,
whatever its size. Closing the stream early (a client that went away) cancels the COPY.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator

from server.reporting import queries
from server.reporting.queries import Query

DEPTH = 8  # chunks in flight (asyncpg hands over what one socket read brought: up to a few hundred KiB)


class _End:
    def __init__(self, rows: int = 0, error: BaseException | None = None) -> None:
        self.rows, self.error = rows, error


class CopyStream:
    """Iterate to get the CSV's chunks (bytes); `rows` is the number of rows once it has ended."""

    def __init__(self, query: Query, depth: int = DEPTH) -> None:
        self.rows = 0
        self._first: bytes | _End | None = None
        self._queue: asyncio.Queue[bytes | _End] = asyncio.Queue(maxsize=depth)
        self._task = asyncio.get_running_loop().create_task(self._copy(query), context=contextvars.Context())

    async def _copy(self, query: Query) -> None:
        try:
            rows = await queries.copy_out(query, self._put)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, who raises it
            await self._queue.put(_End(error=exc))
            return
        await self._queue.put(_End(rows))

    async def _put(self, data: bytes) -> None:
        await self._queue.put(bytes(data))

    async def started(self) -> CopyStream:
        """Wait for the first chunk (the header line): a query PostgreSQL refuses fails here, before an HTTP
        response has begun, rather than halfway through a download."""
        if self._first is None:
            self._first = await self._queue.get()
            if isinstance(self._first, _End) and self._first.error is not None:
                await self.close()
                raise self._first.error
        return self

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                item, self._first = (self._first, None) if self._first is not None else (await self._queue.get(), None)
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    self.rows = item.rows
                    return
                yield item
        finally:
            await self.close()

    async def close(self) -> None:
        """Abandon the COPY if it still runs. `asyncio.wait` waits for it without taking on its outcome, so a
        cancellation of *our* task (a worker being stopped) still propagates instead of being swallowed."""
        if not self._task.done():
            self._task.cancel()
        await asyncio.wait({self._task})
        if not self._task.cancelled():
            self._task.exception()  # retrieved: the reader stopped early, the COPY's error does not matter
