"""Background work of analytics: the rollup follower (long-running)."""

from __future__ import annotations

from server.analytics.follower import Follower
from server.jobs import job
from server.settings import Settings


# Long-running: follows the events outbox until the workers stop; 1 s is the pause before a restart after a crash.
@job("analytics-rollups", every=1.0)
async def follow(settings: Settings) -> None:
    assert settings.database_url
    await Follower(settings.database_url).run()
