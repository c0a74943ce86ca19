"""Connection-level failures of PostgreSQL and Redis: recognising them, and reporting each once.

While a server is down or restarting, every request and background job
fails the same way. Requests answer 503 (server.rest_errors); the logs say
it once per place, not once per attempt: `OncePerOutage` lets the first
report of a connection failure from each logger and message through, as one
line, and holds back the repeats until `recovered()` or `QUIET_SECONDS`.
"""

from __future__ import annotations

import logging
import time
import weakref

QUIET_SECONDS = 300.0

_filters: weakref.WeakSet[OncePerOutage] = weakref.WeakSet()


def is_connection_failure(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) means PostgreSQL or Redis could not be reached or went away."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(seen) < 10:
        seen.add(id(exc))
        if _is_direct(exc):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return all(is_connection_failure(e) for e in exc.exceptions)
        exc = exc.__cause__ or exc.__context__
    return False


def _is_direct(exc: BaseException) -> bool:
    import asyncpg
    from redis import exceptions as redis_errors

    if isinstance(exc, ConnectionError | redis_errors.ConnectionError | asyncpg.PostgresConnectionError
                  | asyncpg.exceptions.AdminShutdownError | asyncpg.exceptions.CrashShutdownError
                  | asyncpg.exceptions.CannotConnectNowError):
        return True
    # asyncpg raises InterfaceError for a connection that closed under it (and for other misuse).
    if isinstance(exc, asyncpg.InterfaceError) and "connection" in str(exc) and "closed" in str(exc):
        return True
    return left_mid_operation(exc)  # a connection whose server died mid-query, reused before asyncpg noticed


def left_mid_operation(exc: BaseException | None) -> bool:
    """asyncpg's protocol was left inside an operation ("cannot switch to state 12; another operation (2) is in
    progress"): seen when PostgreSQL dies mid-query and the connection goes back to the pool before asyncpg
    notices the socket closed (asyncpg issue #1069). Such a connection can only fail its next user."""
    import asyncpg

    return isinstance(exc, asyncpg.exceptions.InternalClientError) and "another operation" in str(exc)


class OncePerOutage(logging.Filter):
    """Install on a handler: connection failures are reported once per logger and message."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: dict[tuple[str, str], float] = {}
        _filters.add(self)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_connection_failure(exc):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        if now - self.reported.get(key, -QUIET_SECONDS) < QUIET_SECONDS:
            return False
        self.reported[key] = now
        record.msg = (f"{record.getMessage()} [{type(exc).__name__}: {exc}; a server is unreachable; "
                      "repeats of this are held back until it recovers]")
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True

    def reset(self) -> None:
        self.reported.clear()


def recovered() -> None:
    """A server is back: the next failure is news again."""
    for f in _filters:
        f.reset()

