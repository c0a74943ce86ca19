"""The DataLoaders of one GraphQL operation: a nested field of every object in a list is one query.

A field of a listed object (a payment's refunds, an endpoint's success rate) asks its loader for its own
key; the loader gathers the keys asked for in the same tick and calls the service once for all of them
(from server/payments/types.py):

    @strawberry.field(description="Its refunds, oldest first.")
    async def refunds(self, info: Info) -> list[Refund]:
        return [Refund.from_row(r) for r in await loaders_of(info).refunds_of_intent.load(self.id)]

Each loader calls a service function that takes the request's context and a list of keys and answers
one value per key, in the order asked (`refunds.of_intents(ctx, pi_ids)`); the service checks the
permission, as for any read. A new set of loaders is made for every HTTP request
(server/gql/view.py) and every stored operation a page runs (server/operations.py), so nothing read
is kept beyond the operation that read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from server.claims import service as claims
from server.context import RequestContext
from server.customers import wallet
from server.disputes import service as disputes
from server.files import service as files
from server.gql.common import ctx_of
from server.payments import receipts, refunds, timeline
from server.webhooks import service as webhooks


class Loaders:
    """One DataLoader per nested field that would otherwise query once per object."""

    def __init__(self, ctx: RequestContext) -> None:
        self.receipt_of_intent = DataLoader(lambda ids: receipts.of_intents(ctx.scope, list(ids)))
        self.refunds_of_intent = DataLoader(lambda ids: refunds.of_intents(ctx, list(ids)))
        self.timeline_of_intent = DataLoader(lambda ids: timeline.of_intents(ctx.scope, list(ids)))
        self.balances_of_customer = DataLoader(lambda ids: wallet.balances_of(ctx, list(ids)))
        self.endpoint_stats = DataLoader(lambda ids: _endpoint_stats(ctx, list(ids)))
        self.attempts_of_delivery = DataLoader(lambda ids: webhooks.attempts_of(ctx, list(ids)))
        self.dispute_of_intent = DataLoader(lambda ids: disputes.of_intents(ctx, list(ids)))
        self.timeline_of_dispute = DataLoader(lambda ids: disputes.timelines(ctx, list(ids)))
        self.file_info = DataLoader(lambda ids: files.infos(ctx, list(ids)))
        self.messages_of_claim = DataLoader(lambda ids: claims.messages_of(ctx, list(ids)))


async def _endpoint_stats(ctx: RequestContext, endpoint_ids: list[str]) -> list[dict[str, Any]]:
    found = await webhooks.endpoint_stats(ctx, endpoint_ids)
    return [found.get(endpoint_id, {}) for endpoint_id in endpoint_ids]


@dataclass
class OperationContext:
    """The context of a stored operation run by a page: the request's context and loaders of its own."""

    ctx: RequestContext
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.ctx)


def loaders_of(info: Info) -> Loaders:
    """The operation's loaders. A subscription's context lasts as long as its connection, so it has none:
    there each field makes its own, and nothing is cached from one event to the next."""
    loaders = getattr(info.context, "loaders", None)
    return loaders if isinstance(loaders, Loaders) else Loaders(ctx_of(info))
