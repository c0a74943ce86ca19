"""Logging: one line per record, each carrying the request it was written for.

`configure()` gives the root logger one handler (stderr) with two filters:

- `RequestIdFilter` copies the id of the request being served (`server.requestid`) onto every
  record as `record.request_id` ("" outside a request), so the log line of a 500 names the same
  `req_…` as the error body the user sees;
- `server.outage.OncePerOutage` holds back repeats of a connection failure.

`PAYDECK_LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `logger`,
`message`, `request_id`, `exception`) for log collectors; the default is one line of text.
The app is built with Litestar's own logging set-up off, so it never replaces this handler.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from server import outage, requestid

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is kept in JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Put the current request's id on the record (runs in the thread that logs, where the request is)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = requestid.current() or ""
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", "")
        if not request_id:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [{request_id}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is one string field, never extra lines."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            body["exception"] = record.exc_text
        body.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        return json.dumps(body, default=str, ensure_ascii=False)


FORMATTERS = {"text": TextFormatter, "json": JsonFormatter}


class LogHandler(logging.StreamHandler):
    """Writes `fmt` lines to `stream` (stderr), with the request id and outage filters."""

    def __init__(self, stream: IO[str] | None = None, fmt: str = "text") -> None:
        super().__init__(stream or sys.stderr)
        self.setFormatter(FORMATTERS[fmt]())
        self.addFilter(RequestIdFilter())
        self.addFilter(outage.OncePerOutage())


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """The process's logging: the root logger at `level` writing `fmt` (text or json) to stderr."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LogHandler)]:  # configured again: replace, not double
        root.removeHandler(old)
    root.addHandler(LogHandler(fmt=fmt))
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
