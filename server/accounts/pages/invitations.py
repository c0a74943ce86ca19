"""Accepting an invitation: the invitee sets a password (or logs in) and joins the account."""

from __future__ import annotations

from litestar import Request, Response
from litestar.response import Redirect

from server import sessions
from server.accounts import team
from server.errors import AuthenticationFailed, InvalidRequest
from server.web.pages import anonymous_csrf, check_anonymous_csrf, dashboard_get, dashboard_post, form_data
from server.web.render import render_page


@dashboard_get("/invitations/{token:str}")
async def invitation_page(request: Request, token: str) -> Response:
    invitation = await team.lookup_invitation(token)
    csrf, cookie = anonymous_csrf(request)
    resp = render_page(request, "accounts/accept.html", {"invitation": invitation, "csrf_token": csrf})
    if cookie:
        resp.set_cookie(cookie)
    return resp


@dashboard_post("/invitations/{token:str}")
async def invitation_accept(request: Request, token: str) -> Response:
    form = await form_data(request)
    check_anonymous_csrf(request, form)
    invitation = await team.lookup_invitation(token)
    try:
        user, inv = await team.accept(token, str(form.get("password", "")), str(form.get("name", "")))
    except (InvalidRequest, AuthenticationFailed) as exc:
        return render_page(request, "accounts/accept.html",
                           {"invitation": invitation, "csrf_token": form.get("_csrf"), "error": exc.message},
                           status=exc.status)
    session = await sessions.create(user["id"], inv["account_id"], replaces=request.cookies.get(sessions.COOKIE))
    resp = Redirect("/", status_code=303)
    resp.set_cookie(sessions.cookie(session))
    return resp


HANDLERS = [invitation_page, invitation_accept]
