"""Switching between test and live mode, and between the accounts a user belongs to."""

from __future__ import annotations

from litestar import Request, Response

from server import sessions
from server.accounts import queries
from server.errors import InvalidRequest
from server.web.forms import posted
from server.web.pages import dashboard_post, redirect, safe_next


@dashboard_post("/mode")
async def toggle_mode(request: Request) -> Response:
    form, ctx = await posted(request)
    await sessions.update(ctx.extra["session"], livemode=str(form.get("livemode")) == "true")
    return redirect(request, safe_next(form.get("next")))


@dashboard_post("/account/switch")
async def switch_account(request: Request) -> Response:
    form, ctx = await posted(request)
    account_id = str(form.get("account_id", ""))
    if await queries.membership(account_id, ctx.principal.user_id or "") is None:
        raise InvalidRequest("you are not a member of that account", param="account_id")
    await sessions.update(ctx.extra["session"], account_id=account_id, livemode=False)
    return redirect(request, "/")


HANDLERS = [toggle_mode, switch_account]
