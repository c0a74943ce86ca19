"""Background work of idempotency keys: forget them once they are older than KEEP (24 hours)."""

from __future__ import annotations

from server.idempotency import queries
from server.idempotency.middleware import KEEP
from server.jobs import job
from server.settings import Settings


@job("idempotency-purge", every=3600.0)
async def purge(settings: Settings) -> None:
    await queries.purge(KEEP)
