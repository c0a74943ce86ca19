"""The review queue: payments (and transfers) a `review` rule let through, held for a person to decide.

Closing a review:

- **approve**: the payment stands; the review closes `approved`;
- **refund**: the payment is refunded in full (an authorization not yet captured is released);
  the review closes `refunded`;
- **refund as fraud**: the same, with reason `fraudulent`, and the card's fingerprint goes on the
  `blocked_card_fingerprints` list, so the default block rule stops that card next time; the
  review closes `refunded_as_fraud`.

Each sends `review.closed`. Under an Idempotency-Key a retry resumes: the refund (or release)
is the payments service's own, bound to the key, and closing is bound to it too, so a request
that died after any of its commits is finished by its retry with one refund and one
`review.closed`. Without a key, a second attempt finds the money already returned and only closes.
A transfer's review can only be approved (a transfer is not refunded from here).
"""

from __future__ import annotations

from server import clock, db
from server.context import RequestContext, Scope
from server.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from server.events.service import emit
from server.fraud import queries
from server.fraud.lists import BLOCKED_CARDS
from server.fraud.radar import actor, add_item
from server.fraud.rows import Review, ReviewSubject
from server.fraud.serial import review_json
from server.fraud.service import ensure_defaults, make_default_list
from server.fraud.storage import from_stored
from server.idempotency import effects
from server.pagination import Page
from server.payments import refunds
from server.payments import service as payments
from server.permissions import read, write


def open_filter(value: str | None) -> bool | None:
    """`open=true` (the queue) or `open=false` (closed ones); none given: both."""
    if value is None or value == "":
        return None
    if value not in ("true", "false"):
        raise InvalidRequest("open must be true or false", param="open")
    return value == "true"


async def list_reviews(ctx: RequestContext, limit: int, after: str | None,
                       open_: bool | None = None) -> Page[Review]:
    scope = ctx.require(read("reviews"))
    return Page.from_rows(await queries.reviews(scope, after, limit, open_), limit)


async def get(ctx: RequestContext, review_id: str) -> Review:
    scope = ctx.require(read("reviews"))
    return await _found(scope, review_id)


async def of_objects(ctx: RequestContext, object_ids: list[str]) -> list[Review | None]:
    """The review of each payment or transfer, in the order asked (a loader's batch)."""
    scope = ctx.require(read("reviews"))
    found = {r.object_id: r for r in await queries.reviews_of(scope, object_ids)}
    return [found.get(object_id) for object_id in object_ids]


async def subjects_of(ctx: RequestContext, object_ids: list[str]) -> list[ReviewSubject | None]:
    """The payment or transfer of each review, in short, in the order asked (a loader's batch)."""
    scope = ctx.require(read("reviews"))
    found = {s.id: s for s in await queries.review_subjects(scope, object_ids)}
    return [found.get(object_id) for object_id in object_ids]


async def _found(scope: Scope, review_id: str, lock: bool = False) -> Review:
    review = await queries.review(scope, review_id, lock=lock)
    if review is None:
        raise NotFound(f"no such review: '{review_id}'", param="id")
    return review


async def approve(ctx: RequestContext, review_id: str) -> Review:
    scope = ctx.require(write("reviews"))
    return await _close(ctx, scope, review_id, "approved", effects.step("close_review", review_id))


async def refund(ctx: RequestContext, review_id: str, as_fraud: object = False) -> Review:
    """Give the money back (refund, or release an authorization), then close the review."""
    scope = ctx.require(write("reviews"))
    if not isinstance(as_fraud, bool):
        raise InvalidRequest("as_fraud must be true or false", param="as_fraud")
    step = effects.step("close_review", review_id)
    review = await _found(scope, review_id)
    if review.object_type != "payment_intent":
        raise Conflict(f"review {review_id} is of a transfer, which can only be approved", param="id",
                       code=ErrorCode.REVIEW_UNEXPECTED_STATE)
    if review.open:
        await _return_money(ctx, review.object_id, "fraudulent" if as_fraud else "requested_by_customer")
    return await _close(ctx, scope, review_id, "refunded_as_fraud" if as_fraud else "refunded", step)


async def _return_money(ctx: RequestContext, pi_id: str, reason: str) -> None:
    """Refund what remains, or release an authorization; nothing when an earlier attempt did it."""
    pi = await payments.get(ctx, pi_id)
    if pi.status == "requires_capture":
        await payments.cancel(ctx, pi_id, reason)
    elif pi.status == "succeeded":
        try:
            await refunds.create(ctx, pi_id, None, reason)
        except InvalidRequest as exc:
            if exc.code != ErrorCode.AMOUNT_TOO_LARGE:  # anything but "nothing remains to refund"
                raise


async def _close(ctx: RequestContext, scope: Scope, review_id: str, reason: str,
                 step: effects.Step | None) -> Review:
    async with db.transaction():
        done = await effects.recall(step)
        review = await _found(scope, review_id, lock=True)
        if done is not None:
            return review  # this request closed it before it failed: the same answer
        if not review.open:
            raise Conflict(f"review {review_id} is closed already ({review.closed_reason})", param="id",
                           code=ErrorCode.REVIEW_UNEXPECTED_STATE, extra={"closed_reason": review.closed_reason})
        review = await queries.close_review(scope, review_id, reason, actor(ctx), clock.PAYMENTS.now())
        if reason == "refunded_as_fraud":
            await _block_card(ctx, scope, review)
        await emit(ctx, scope, "review.closed", "review", review.id, review_json(review))
        await effects.bind(step, "review", review.id)
    return review


async def _block_card(ctx: RequestContext, scope: Scope, review: Review) -> None:
    """Put the reviewed payment's card on the block list (inside the closing transaction)."""
    evaluation = await queries.evaluation(scope, review.evaluation_id)
    fingerprint = from_stored(evaluation.signals).get("card_fingerprint") if evaluation else None
    if not isinstance(fingerprint, str):
        return
    await ensure_defaults(scope)
    blocked = await queries.list_by_alias(scope, BLOCKED_CARDS)
    if blocked is None:  # the merchant deleted the default list (and its rule): make the list again
        blocked = await make_default_list(scope, BLOCKED_CARDS)
    await add_item(ctx, scope, blocked, fingerprint, f"review {review.id}")
