"""Background jobs of seller benchmarks."""

from __future__ import annotations

from server.benchmarks import service
from server.jobs import job
from server.settings import Settings


@job("benchmarks.releases", every=lambda settings: settings.benchmark_interval_seconds)
async def release_closed_months(settings: Settings) -> None:
    """Release each closed month once (test and live modes apart); a released month is never computed again."""
    await service.release_due(settings)
