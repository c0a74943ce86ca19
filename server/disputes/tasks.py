"""Background jobs of disputes: follow the processor's feed, and keep the evidence deadlines."""

from __future__ import annotations

from server.disputes import feed, service
from server.jobs import job
from server.settings import Settings


@job("disputes.sync", every=lambda settings: settings.dispute_sync_seconds)
async def sync(settings: Settings) -> None:
    """New disputes and the issuers' decisions, from the processor; then what the processor was not told yet."""
    await feed.poll()
    await service.resend_pending()


@job("disputes.deadlines", every=lambda settings: settings.dispute_sync_seconds * 10)
async def deadlines(settings: Settings) -> None:
    """Reminders 72 h and 24 h before evidence is due, and disputes left unanswered past it."""
    await service.run_deadlines()
