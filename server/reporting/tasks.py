"""Background work of reporting: the report worker (long-running) and the monthly statements."""

from __future__ import annotations

import logging

from server.jobs import job
from server.reporting import service
from server.reporting.runner import Runner
from server.settings import Settings

log = logging.getLogger(__name__)


# Long-running: makes report runs as they are asked for; 1 s is the pause before a restart after a crash.
@job("report-runs", every=1.0)
async def run_reports(settings: Settings) -> None:
    assert settings.database_url
    await Runner(settings.database_url).run_forever()


# Each closed month: a statement per account and mode (a unique index makes each once, in any process).
@job("monthly-statements", every=300.0)
async def monthly_statements(settings: Settings) -> None:
    made = await service.make_statements()
    if made:
        log.info("monthly statements: %d report runs asked for", made)
