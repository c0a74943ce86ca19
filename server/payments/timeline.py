"""A payment's timeline: its events and its refunds' events, in the order they were committed."""

from __future__ import annotations

from server.context import Scope
from server.payments import queries
from server.payments.queries import TimelineEvent

LIMIT = 200  # events per payment; a payment has a handful, this only bounds a pathological one


async def of_intents(scope: Scope, pi_ids: list[str]) -> list[list[TimelineEvent]]:
    """The timeline of each payment, in the order asked: a payment's nested field.

    The caller has read these payments through `scope` already."""
    found: dict[str, list[TimelineEvent]] = {pi_id: [] for pi_id in pi_ids}
    for event in await queries.timeline_events(scope, pi_ids, LIMIT):
        found[event.intent_id].append(event)
    return [found[pi_id] for pi_id in pi_ids]
