"""Dashboard pages of transfer claims: the Claims tab of the Disputes page, and a claim with its messages,
hold and the forms for each step (message, escalate, decide, appeal, withdraw)."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server import operations
from server.claims import rules
from server.context import RequestContext
from server.errors import InvalidRequest, NotFound
from server.permissions import write
from server.web.forms import submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, show


def _rights(ctx: RequestContext) -> dict[str, Any]:
    return {"can_manage": ctx.can(write("transfer_claims")), "can_decide": ctx.can(write("transfer_claim_decisions"))}


@dashboard_get("/disputes/claims")
async def claims_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in rules.STATUSES:
        raise InvalidRequest(f"unknown status '{status[:40]}'", param="status")
    return await show(request, ctx, "ClaimsPage", "claims/list.html", "disputes",
                      {"after": params.get("after"), "status": status},
                      block="rows" if params.get("after") else None, status_filter=status or "",
                      statuses=rules.STATUSES, tab="claims")


async def _detail(request: Request, ctx: RequestContext, claim_id: str, status: int = 200,
                  **extra: Any) -> Response:
    data = await operations.run("ClaimPage", ctx, {"id": claim_id})
    if data["transferClaim"] is None:
        raise NotFound(f"no transfer claim '{claim_id}' in this mode")
    return await show(request, ctx, "ClaimPage", "claims/detail.html", "disputes", {"id": claim_id},
                      status=status, authors=rules.AUTHORS, open_statuses=rules.OPEN,
                      deciding=rules.AWAITING_DECISION, **_rights(ctx), **extra)


@dashboard_get("/disputes/claims/{claim_id:str}")
async def claim_page(request: Request, claim_id: str) -> Response:
    return await _detail(request, await dashboard_context(request), claim_id)


async def _step(request: Request, claim_id: str, operation: str, variables: Any, done: str) -> Response:
    return await submit(request, operation, variables, page=partial(_detail, request, claim_id=claim_id),
                        then=lambda ok: _detail(request, ok.ctx, claim_id, done=done))


@dashboard_post("/disputes/claims/{claim_id:str}/messages")
async def claim_message(request: Request, claim_id: str) -> Response:
    return await _step(request, claim_id, "AddClaimMessage", lambda form: {
        "id": claim_id, "author": str(form.get("author", "")), "body": str(form.get("body", ""))}, "Message added.")


@dashboard_post("/disputes/claims/{claim_id:str}/escalate")
async def claim_escalate(request: Request, claim_id: str) -> Response:
    return await _step(request, claim_id, "EscalateClaim", {"id": claim_id},
                       "The inquiry is now a claim; the amount is held on the receiver's balance.")


@dashboard_post("/disputes/claims/{claim_id:str}/decide")
async def claim_decide(request: Request, claim_id: str) -> Response:
    return await _step(request, claim_id, "DecideClaim", lambda form: {
        "id": claim_id, "decision": str(form.get("decision", "")), "note": str(form.get("note", "")) or None},
        "Decision recorded.")


@dashboard_post("/disputes/claims/{claim_id:str}/appeal")
async def claim_appeal(request: Request, claim_id: str) -> Response:
    return await _step(request, claim_id, "AppealClaim", lambda form: {
        "id": claim_id, "by": str(form.get("by", "")), "message": str(form.get("message", "")) or None},
        "Appeal opened; the amount is held again until it is decided.")


@dashboard_post("/disputes/claims/{claim_id:str}/withdraw")
async def claim_withdraw(request: Request, claim_id: str) -> Response:
    return await _step(request, claim_id, "WithdrawClaim", {"id": claim_id}, "Claim withdrawn.")


HANDLERS = [claims_page, claim_page, claim_message, claim_escalate, claim_decide, claim_appeal, claim_withdraw]
