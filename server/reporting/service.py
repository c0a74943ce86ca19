"""Report runs, their files, monthly statements and CSV exports: the rules, and the only writer.

A run is asked for with a report type and parameters (`interval_start`, `interval_end`, `timezone`,
`currency`); it is `pending` until a worker (`runner.py`) makes its CSV, then `succeeded` with a file
or `failed` with the reason. Running a report needs `reports: write` and the read right of its data
(`catalog.py`); reading a run needs `reports: read`, and its file the data's read right too. Every
read is scoped to one account and mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from server import clock, db
from server.accounts import queries as account_queries
from server.analytics import buckets
from server.context import RequestContext, Scope
from server.errors import Conflict, InvalidRequest, NotFound
from server.idempotency import effects
from server.ids import new_id
from server.ledger.money import currency_code
from server.pagination import Page
from server.payments.service import STATUSES
from server.permissions import read, write
from server.reporting import queries
from server.reporting.catalog import REPORT_TYPES, STATEMENT_TYPES, ReportType
from server.reporting.queries import LogExportFilter
from server.reporting.rows import ReportRun
from server.reporting.stream import CopyStream

MAX_INTERVAL = timedelta(days=3 * 366 + 1)
PARAMETERS = ("interval_start", "interval_end", "timezone", "currency")
STATEMENT_MONTHS_BACK = 24  # a first statement pass goes back at most this far


def _now() -> datetime:
    return clock.now()


def report_type(value: object) -> ReportType:
    if not isinstance(value, str) or value not in REPORT_TYPES:
        shown = value[:60] if isinstance(value, str) else value
        raise InvalidRequest(f"unknown report_type '{shown}'; one of {', '.join(REPORT_TYPES)}",
                             param="report_type")
    return REPORT_TYPES[value]


async def account_timezone(scope: Scope) -> str:
    account = await account_queries.account(scope.account_id) or {}
    return str(account.get("timezone") or "UTC")


@dataclass(frozen=True)
class Parameters:
    interval_start: datetime
    interval_end: datetime
    timezone: str
    currency: str | None


def _instant(value: object, name: str) -> datetime | None:
    param = f"parameters[{name}]"
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequest(f"{param} must be a Unix timestamp, an ISO 8601 time or a local date", param=param)
    return buckets.parse_time(value, param)


async def parameters(scope: Scope, raw: object, now: datetime) -> Parameters:
    """The run's parameters, checked: an interval of at most three years that has ended, in a known zone.

    A time without an offset (`2026-10-01`) is local to `timezone` (default: the account's), so a day or a
    month is exact in the account's calendar.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRequest("parameters must be an object with interval_start and interval_end", param="parameters")
    unknown = sorted(set(raw) - set(PARAMETERS))
    if unknown:
        raise InvalidRequest(f"unknown parameter '{str(unknown[0])[:60]}'", param=f"parameters[{unknown[0]}]"[:80])
    zone_name = raw.get("timezone")
    if zone_name is None:
        zone_name = await account_timezone(scope)
    if not isinstance(zone_name, str):
        raise InvalidRequest("parameters[timezone] must be an IANA time zone name", param="parameters[timezone]")
    tz = buckets.zone(zone_name, "parameters[timezone]")
    bounds = {}
    for name in ("interval_start", "interval_end"):
        value = _instant(raw.get(name), name)
        if value is None:
            raise InvalidRequest(f"parameters[{name}] is required", param=f"parameters[{name}]")
        bounds[name] = buckets.localize(value, tz, f"parameters[{name}]", earliest=2000).astimezone(UTC)
    start, end = bounds["interval_start"], bounds["interval_end"]
    if end <= start:
        raise InvalidRequest("parameters[interval_end] must be after interval_start", param="parameters[interval_end]")
    if end > now:
        raise InvalidRequest("parameters[interval_end] must not be in the future: a report holds what has happened",
                             param="parameters[interval_end]")
    if end - start > MAX_INTERVAL:
        raise InvalidRequest("an interval is at most three years", param="parameters[interval_start]")
    currency = raw.get("currency")
    code = None if currency is None or currency == "" else currency_code(currency, "parameters[currency]")
    return Parameters(start, end, zone_name, code)


def _new_run(scope: Scope, kind: ReportType, params: Parameters, now: datetime, requested_by: str | None,
             statement_month: date | None = None) -> ReportRun:
    return ReportRun(id=new_id("frr"), account_id=scope.account_id, livemode=scope.livemode, report_type=kind.name,
                     interval_start=params.interval_start, interval_end=params.interval_end,
                     timezone=params.timezone, currency=params.currency, status="pending", error=None, rows_done=0,
                     rows_total=None, attempts=0, lease_until=None, result_rows=None, result_bytes=None,
                     statement_month=statement_month, requested_by=requested_by, created=now, started=None,
                     finished=None)


def _requester(ctx: RequestContext) -> str | None:
    return ctx.principal.user_id or ctx.principal.key_id


async def create(ctx: RequestContext, report_type_name: object, raw_parameters: object) -> ReportRun:
    """Ask for a report; a worker makes it. Once per Idempotency-Key."""
    scope = ctx.require(write("reports"))
    kind = report_type(report_type_name)
    ctx.require(kind.data)
    now = _now()
    params = await parameters(scope, raw_parameters, now)
    step = effects.step("report_run", kind.name)
    async with db.transaction():
        if done := await effects.recall(step):  # this request's run was committed before: return it
            return await _get(scope, done["id"])
        made = await queries.insert_run(_new_run(scope, kind, params, now, _requester(ctx)))
        assert made is not None
        await queries.notify_runners()
        await effects.bind(step, "reporting.report_run", made.id)
    return made


async def _get(scope: Scope, run_id: str) -> ReportRun:
    run = await queries.get_run(scope, run_id)
    if run is None:
        raise NotFound(f"no report run '{run_id[:60]}'", param="id")
    return run


async def get(ctx: RequestContext, run_id: str) -> ReportRun:
    return await _get(ctx.require(read("reports")), run_id)


async def list_runs(ctx: RequestContext, limit: int, cursor: str | None, *, statements: bool | None = None,
                    report_type_name: str | None = None) -> Page[ReportRun]:
    scope = ctx.require(read("reports"))
    kind = report_type(report_type_name).name if report_type_name is not None else None
    rows = await queries.list_runs(scope, cursor, limit, statements=statements, report_type=kind)
    return Page.from_rows(rows, limit, id_of=lambda r: r.id)


async def file(ctx: RequestContext, run_id: str) -> tuple[ReportRun, AsyncIterator[bytes]]:
    """A succeeded run's CSV, chunk by chunk (constant memory)."""
    scope = ctx.require(read("reports"))
    run = await _get(scope, run_id)
    if run.status != "succeeded":
        raise Conflict(f"report run {run.id} is {run.status}: its file exists once it has succeeded",
                       extra={"status": run.status})
    ctx.require(REPORT_TYPES[run.report_type].data)
    return run, _chunks(run)


async def _chunks(run: ReportRun) -> AsyncIterator[bytes]:
    seq = 0
    while (data := await queries.chunk(run, seq)) is not None:
        yield data
        seq += 1


# --- monthly statements ---------------------------------------------------------------------------------


def closed_months(since: date, today: date) -> list[date]:
    """First days of the months from the one holding `since` to the last one before `today`'s month."""
    months, month = [], since.replace(day=1)
    while month < today.replace(day=1):
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


async def make_statements(now: datetime | None = None) -> int:
    """For every account and mode, a statement (balance summary + usage) of each closed month that has none:
    months in the account's time zone, from its first activity. Returns the runs made. Safe in several
    processes at once: a unique index makes each (account, mode, type, month) once."""
    now = now or _now()
    made = 0
    for first_type in STATEMENT_TYPES[:1]:
        for found in await queries.statement_scopes(first_type):
            scope, tz = Scope(found.account_id, found.livemode), buckets.zone(found.timezone)
            today = now.astimezone(tz).date()
            if found.last_month is not None:
                since = (found.last_month + timedelta(days=32)).replace(day=1)
            else:
                first = await queries.first_activity(scope)
                if first is None:
                    continue
                earliest = (today.replace(day=1) - timedelta(days=31 * STATEMENT_MONTHS_BACK)).replace(day=1)
                since = max(first.astimezone(tz).date(), earliest)
            for month in closed_months(since, today):
                made += await _statement(scope, found.timezone, month, now)
    return made


async def _statement(scope: Scope, timezone: str, month: date, now: datetime) -> int:
    start, end = month_interval(month, timezone)
    made = 0
    async with db.transaction():
        for name in STATEMENT_TYPES:
            params = Parameters(start, end, timezone, None)
            if await queries.insert_run(_new_run(scope, REPORT_TYPES[name], params, now, None, month)):
                made += 1
        if made:
            await queries.notify_runners()
    return made


# --- exports: CSV straight from SQL ---------------------------------------------------------------------


@dataclass
class Export:
    filename: str
    stream: CopyStream


async def _export_zone(scope: Scope, timezone: str | None) -> str:
    name = timezone or await account_timezone(scope)
    buckets.zone(name)
    return name


def _bound(value: datetime | None, param: str, tz_name: str) -> datetime | None:
    if value is None:
        return None
    return buckets.localize(value, buckets.zone(tz_name), param, earliest=1970).astimezone(UTC)


async def export_payments(ctx: RequestContext, *, created_gte: datetime | None = None,
                          created_lt: datetime | None = None, status: str | None = None,
                          currency: str | None = None, timezone: str | None = None) -> Export:
    """Payment intents created in [created_gte, created_lt) as CSV (the payments.itemized columns)."""
    scope = ctx.require(read("payment_intents"))
    zone = await _export_zone(scope, timezone)
    start, end = _bound(created_gte, "created[gte]", zone), _bound(created_lt, "created[lt]", zone)
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", param="status")
    code = currency_code(currency) if currency else None
    query = queries.payments(scope, start, end, zone, code, status)
    return Export(f"payments-{scope.mode}-{_now():%Y%m%d-%H%M%S}.csv", await CopyStream(query).started())


async def export_request_logs(ctx: RequestContext, f: LogExportFilter, timezone: str | None = None) -> Export:
    """The request log (without bodies) as CSV, oldest first, within what retention keeps."""
    scope = ctx.require(read("request_logs"))
    zone = await _export_zone(scope, timezone)
    f = LogExportFilter(**{**f.__dict__, "since": _bound(f.since, "created[gte]", zone),
                           "until": _bound(f.until, "created[lt]", zone)})
    stream = await CopyStream(queries.request_logs(scope, f, zone)).started()
    return Export(f"api-requests-{scope.mode}-{_now():%Y%m%d-%H%M%S}.csv", stream)


def month_interval(month: date, tz_name: str) -> tuple[datetime, datetime]:
    """A local month as UTC instants."""
    tz = buckets.zone(tz_name)
    return (buckets.local_midnight(month, tz),
            buckets.local_midnight((month + timedelta(days=32)).replace(day=1), tz))


def report_types(ctx: RequestContext) -> list[ReportType]:
    ctx.require(read("reports"))
    return list(REPORT_TYPES.values())
