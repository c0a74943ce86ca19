"""Today's payments against yesterday's at the same time of day, in the account's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server import clock
from server.accounts import queries as account_queries
from server.context import RequestContext, Scope
from server.payments import queries
from server.permissions import read


@dataclass
class DaySummary:
    start: datetime
    end: datetime
    gross: dict[str, int] = field(default_factory=dict)  # currency -> amount received, minor units
    succeeded: int = 0
    failed: int = 0

    @property
    def success_rate(self) -> float | None:
        attempts = self.succeeded + self.failed
        return self.succeeded / attempts if attempts else None


async def _day(scope: Scope, start: datetime, end: datetime) -> DaySummary:
    day = DaySummary(start, end)
    for totals in await queries.day_totals(scope, start, end):
        day.succeeded += totals.succeeded
        day.failed += totals.failed
        if totals.gross:
            day.gross[totals.currency.upper()] = totals.gross
    return day


async def today_and_yesterday(ctx: RequestContext, now: datetime | None = None) -> tuple[DaySummary, DaySummary]:
    """Today so far, and yesterday up to the same time of day: like for like."""
    scope = ctx.require(read("payment_intents"))
    account = await account_queries.account(scope.account_id)
    zone = ZoneInfo(account["timezone"] if account else "UTC")
    local_now = (now or clock.now()).astimezone(zone)
    midnight = datetime.combine(local_now.date(), time(0), tzinfo=zone)
    yesterday = midnight - timedelta(days=1)
    return (await _day(scope, midnight, local_now),
            await _day(scope, yesterday, yesterday + (local_now - midnight)))
