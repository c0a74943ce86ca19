"""The reconciler: payments stuck in `processing`, captures and releases stuck pending, refunds stuck in
`pending`, expired authorizations.

A payment in `processing` for longer than the processor's timeout (plus
PAYDECK_RECONCILE_AFTER_SECONDS) is settled by asking the processor about its
idempotency key: the processor returns the charge it made, or, if it never
received the request, voids the key so that a late request cannot charge.
Either answer is applied once (only while the payment is still processing
with that key). Captures, releases and refunds are re-sent with their own
key, which the processor de-duplicates. Safe to run in several processes at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from server import clock
from server.payments import queries, refunds, service
from server.payments.processor import ProcessorError, ProcessorTimeout, processor
from server.settings import get_settings

log = logging.getLogger(__name__)


def stale_after() -> timedelta:
    settings = get_settings()
    return timedelta(seconds=settings.processor_timeout_seconds + settings.reconcile_after_seconds)


async def reconcile_once() -> int:
    """One pass; returns how many objects it settled."""
    settled = 0
    cutoff = clock.PAYMENTS.now() - stale_after()
    for stuck in await queries.stuck_processing(cutoff):
        key = stuck.processor_key
        assert key is not None, "an intent is processing with its processor key"
        try:
            charge = await processor().resolve(key)
        except (ProcessorTimeout, ProcessorError) as exc:
            log.warning("reconcile %s: processor not answering (%s)", stuck.id, exc)
            continue
        pi = await service.apply_charge(None, stuck.scope, stuck.id, key, charge)
        settled += pi.status != "processing"
    for pending in await queries.stuck_actions(cutoff):
        settled += await service.finish_pending(pending.scope, pending)
    for refund in await queries.pending_refunds(cutoff):
        refunded = await queries.get(refund.scope, refund.payment_intent_id)
        if refunded is None or refunded.processor_charge_id is None:
            continue
        done = await refunds.send(None, refund.scope, refund, refunded.processor_charge_id)
        settled += done.status != "pending"
    for expired in await queries.expired_authorizations(clock.PAYMENTS.now()):
        try:
            settled += await service.expire_if_due(expired.scope, expired.id)
        except Exception:
            log.exception("expiring %s failed", expired.id)
    return settled


def interval_seconds() -> float:
    return min(max(get_settings().reconcile_after_seconds / 2, 0.25), 10.0)
