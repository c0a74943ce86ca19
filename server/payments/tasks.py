"""Background work of payments: the reconciler (server/payments/reconcile.py) on its interval."""

from __future__ import annotations

from server.jobs import job
from server.payments import reconcile
from server.settings import Settings


@job("payments-reconcile", every=lambda settings: reconcile.interval_seconds())
async def reconcile_stuck(settings: Settings) -> None:
    await reconcile.reconcile_once()
