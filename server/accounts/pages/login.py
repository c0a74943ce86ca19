"""Logging in and out of the dashboard."""

from __future__ import annotations

from litestar import Request, Response
from litestar.response import Redirect

from server import sessions
from server.accounts import queries, service
from server.auth import client_ip
from server.errors import AuthenticationFailed, ErrorCode, RateLimited
from server.web.forms import posted
from server.web.pages import anonymous_csrf, check_anonymous_csrf, dashboard_get, dashboard_post, form_data, safe_next
from server.web.render import render_page


@dashboard_get("/login")
async def login_page(request: Request) -> Response:
    token, cookie = anonymous_csrf(request)
    resp = render_page(request, "accounts/login.html", {"csrf_token": token,
                                                         "next": safe_next(request.query_params.get("next"))})
    if cookie:
        resp.set_cookie(cookie)
    return resp


@dashboard_post("/login")
async def login_submit(request: Request) -> Response:
    form = await form_data(request)
    check_anonymous_csrf(request, form)
    email, next_url = str(form.get("email", "")), safe_next(form.get("next"))
    try:
        user = await service.login(email, str(form.get("password", "")), client_ip(request))
        memberships = await queries.memberships_of_user(user["id"])
        if not memberships:
            raise AuthenticationFailed("this user belongs to no account any more", code=ErrorCode.NO_MEMBERSHIP)
    except (AuthenticationFailed, RateLimited) as exc:
        token, _ = anonymous_csrf(request)
        return render_page(request, "accounts/login.html",
                           {"csrf_token": token, "error": exc.message, "email": email, "next": next_url},
                           status=exc.status,
                           headers={"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None)
    session = await sessions.create(user["id"], memberships[0]["account_id"], livemode=False,
                                    replaces=request.cookies.get(sessions.COOKIE))
    resp = Redirect(next_url, status_code=303)
    resp.set_cookie(sessions.cookie(session))
    return resp


@dashboard_post("/logout")
async def logout(request: Request) -> Response:
    _, ctx = await posted(request)
    await sessions.destroy(ctx.extra["session"].id)
    resp = Redirect("/login", status_code=303)
    resp.delete_cookie(sessions.COOKIE, path="/")
    return resp


HANDLERS = [login_page, login_submit, logout]
