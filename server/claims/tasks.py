"""Background job of transfer claims: inquiries not settled in 20 days become claims."""

from __future__ import annotations

from server.claims import service
from server.jobs import job
from server.settings import Settings


@job("claims.escalate", every=lambda settings: settings.dispute_sync_seconds * 10)
async def escalate(settings: Settings) -> None:
    await service.escalate_due()
