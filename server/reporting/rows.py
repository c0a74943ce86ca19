"""Typed rows of reporting: one msgspec Struct per table, one field per column."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class ReportRun(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    report_type: str
    interval_start: datetime
    interval_end: datetime
    timezone: str
    currency: str | None
    status: str  # pending | succeeded | failed
    error: str | None
    rows_done: int
    rows_total: int | None
    attempts: int
    lease_until: datetime | None
    result_rows: int | None
    result_bytes: int | None
    statement_month: date | None
    requested_by: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None


class StatementScope(msgspec.Struct, kw_only=True):
    """An account and mode with the last month it has statements for (None: none yet)."""

    account_id: str
    livemode: bool
    timezone: str
    last_month: date | None
