"""Log lines carry the request they were written for; PAYDECK_LOG_FORMAT=json gives one JSON object per line."""

from __future__ import annotations

import io
import json
import logging

from server import logs, requestid
from server.faults import HEADER as FAULT
from tests.payments.helpers import merchant


def _record(message: str = "hello %s", exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("server.test", logging.ERROR, __file__, 1, message, ("world",), exc_info)


async def test_the_log_line_of_a_500_names_the_request_id_the_user_was_given(http):
    m = await merchant(http)
    stream = io.StringIO()
    handler = logs.LogHandler(stream, "json")
    logging.getLogger().addHandler(handler)
    try:
        resp = await m.post("/v1/payment_intents", {"amount": 1000, "currency": "usd"},
                            headers={FAULT: "after-commit=1"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert resp.status_code == 500, resp.text
    error = resp.json()["error"]
    assert "the request id identifies it" in error["message"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failures = [line for line in lines if line["logger"] == "server.rest_errors"]
    assert failures, lines
    assert failures[0]["request_id"] == error["request_id"] == resp.headers["Request-Id"]
    assert "InjectedFault" in failures[0]["exception"]


def test_json_lines_are_one_object_each_with_the_traceback_inside():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError as exc:
        record = _record(exc=exc)
    logs.RequestIdFilter().filter(record)
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    body = json.loads(line)
    assert body["message"] == "hello world" and body["level"] == "ERROR" and body["logger"] == "server.test"
    assert body["request_id"] is None and "ValueError: boom" in body["exception"]


def test_the_current_request_id_goes_on_every_record_and_text_shows_it():
    token = requestid._current.set("req_test123")
    try:
        record = _record()
        logs.RequestIdFilter().filter(record)
    finally:
        requestid._current.reset(token)
    assert record.request_id == "req_test123"
    assert logs.TextFormatter().format(record).endswith("hello world [req_test123]")
    outside = _record()
    logs.RequestIdFilter().filter(outside)
    assert outside.request_id == "" and logs.TextFormatter().format(outside).endswith("hello world")


def test_configuring_again_replaces_the_handler():
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        logs.configure("INFO", "json")
        logs.configure("WARNING", "text")
        ours = [h for h in root.handlers if isinstance(h, logs.LogHandler)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.TextFormatter)
        assert root.level == logging.WARNING
    finally:
        root.handlers[:] = before
        root.setLevel(level)
