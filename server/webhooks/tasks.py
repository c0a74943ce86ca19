"""Background work of webhooks: the delivery loop (long-running) and the endpoint health sweep."""

from __future__ import annotations

from server.jobs import job
from server.settings import Settings
from server.webhooks import delivery, fanout
from server.webhooks.worker import DeliveryWorker


# Long-running: returns only when cancelled; 1 s is the pause before a restart after a crash.
@job("webhook-deliveries", every=1.0)
async def deliver(settings: Settings) -> None:
    # allow_private=None: the worker reads PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS when it connects.
    await DeliveryWorker().run_forever()


@job("webhook-health", every=60.0)
async def health_sweep(settings: Settings) -> None:
    await delivery.disable_failing()
    await fanout.prune_markers()
