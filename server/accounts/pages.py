"""Dashboard pages: login, home, team, settings, audit log, mode and account switching."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from server import operations, sessions
from server.accounts import queries, service, team
from server.auth import client_ip
from server.errors import AuthenticationFailed, ErrorCode, InvalidRequest, PaydeckError, RateLimited
from server.web.pages import (
    anonymous_csrf,
    check_anonymous_csrf,
    dashboard_context,
    form_data,
    guarded,
    mutation_error,
    redirect,
    safe_next,
    show,
)
from server.web.render import render_page


def _session_cookie(session: sessions.Session) -> Cookie:
    from server.settings import get_settings

    opts = sessions.cookie_options(max_age=get_settings().session_absolute_hours * 3600)
    return Cookie(key=sessions.COOKIE, value=session.id, **opts)


@get("/login", include_in_schema=False)
@guarded
async def login_page(request: Request) -> Response:
    token, cookie = anonymous_csrf(request)
    resp = render_page(request, "accounts/login.html", {"csrf_token": token,
                                                         "next": safe_next(request.query_params.get("next"))})
    if cookie:
        resp.set_cookie(cookie)
    return resp


@post("/login", include_in_schema=False)
@guarded
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
    resp.set_cookie(_session_cookie(session))
    return resp


@post("/logout", include_in_schema=False)
@guarded
async def logout(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    await sessions.destroy(ctx.extra["session"].id)
    resp = Redirect("/login", status_code=303)
    resp.delete_cookie(sessions.COOKIE, path="/")
    return resp


@post("/mode", include_in_schema=False)
@guarded
async def toggle_mode(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    await sessions.update(ctx.extra["session"], livemode=str(form.get("livemode")) == "true")
    return redirect(request, safe_next(form.get("next")))


@post("/account/switch", include_in_schema=False)
@guarded
async def switch_account(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    account_id = str(form.get("account_id", ""))
    if await queries.membership(account_id, ctx.principal.user_id or "") is None:
        raise InvalidRequest("you are not a member of that account", param="account_id")
    await sessions.update(ctx.extra["session"], account_id=account_id, livemode=False)
    return redirect(request, "/")


@get("/", include_in_schema=False)
@guarded
async def home(request: Request) -> Response:
    from server.events import service as events
    from server.events.pages import stream_url
    from server.permissions import read

    ctx = await dashboard_context(request)
    since = await events.stream_position(ctx)  # before the page's query: the live feed continues from here
    block = "today" if request.query_params.get("part") == "today" else None  # the numbers refresh themselves
    return await show(request, ctx, "HomePage", "accounts/home.html", "home",
                      {"withPayments": ctx.can(read("payment_intents")), "withBalance": ctx.can(read("balance"))},
                      block=block,
                      stream_url=stream_url([], since))


async def _team(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    from server.permissions import write

    can_manage = ctx.can(write("team"))
    return await show(request, ctx, "TeamPage", "accounts/team.html", "team", {"withInvitations": can_manage},
                      status=status, can_manage=can_manage, **extra)


@get("/team", include_in_schema=False)
@guarded
async def team_page(request: Request) -> Response:
    return await _team(request, await dashboard_context(request))


@post("/team/invite", include_in_schema=False)
@guarded
async def team_invite(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    email = str(form.get("email", ""))
    result = (await operations.run("InviteMember", ctx, {"email": email, "role": str(form.get("role", ""))}))[
        "inviteMember"]
    if error := mutation_error(result):
        return await _team(request, ctx, status=400, error=error)
    return await _team(request, ctx, invite_url=result["inviteUrl"], invited_email=result["invitation"]["email"])


async def _team_action(request: Request, operation: str, variables: dict[str, Any]) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    if "role" in variables:
        variables["role"] = str(form.get("role", ""))
    result = next(iter((await operations.run(operation, ctx, variables)).values()))
    if error := mutation_error(result):
        return await _team(request, ctx, status=409 if error["code"] == "conflict" else 400, error=error)
    return redirect(request, "/team")


@post("/team/members/{membership_id:str}/role", include_in_schema=False)
@guarded
async def team_change_role(request: Request, membership_id: str) -> Response:
    return await _team_action(request, "ChangeMemberRole", {"id": membership_id, "role": None})


@post("/team/members/{membership_id:str}/remove", include_in_schema=False)
@guarded
async def team_remove(request: Request, membership_id: str) -> Response:
    return await _team_action(request, "RemoveMember", {"id": membership_id})


@post("/team/invitations/{invitation_id:str}/revoke", include_in_schema=False)
@guarded
async def team_revoke_invitation(request: Request, invitation_id: str) -> Response:
    return await _team_action(request, "RevokeInvitation", {"id": invitation_id})


@get("/invitations/{token:str}", include_in_schema=False)
@guarded
async def invitation_page(request: Request, token: str) -> Response:
    invitation = await team.lookup_invitation(token)
    csrf, cookie = anonymous_csrf(request)
    resp = render_page(request, "accounts/accept.html", {"invitation": invitation, "csrf_token": csrf})
    if cookie:
        resp.set_cookie(cookie)
    return resp


@post("/invitations/{token:str}", include_in_schema=False)
@guarded
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
    resp.set_cookie(_session_cookie(session))
    return resp


def _can_admin(ctx) -> bool:
    from server.permissions import write

    return ctx.can(write("settings"))


@get("/settings", include_in_schema=False)
@guarded
async def settings_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    return await show(request, ctx, "SettingsPage", "accounts/settings.html", "settings", can_admin=_can_admin(ctx),
                      saved=request.query_params.get("saved") == "1")


def _settings_input(form: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    names = {"name": "name", "category": "category", "country": "country", "default_currency": "defaultCurrency",
             "timezone": "timezone", "fee_percent_bps": "feePercentBps", "fee_fixed_minor": "feeFixedMinor",
             "log_retention_days": "logRetentionDays"}
    for field, gql_name in names.items():
        if field not in form:
            continue
        raw = str(form[field]).strip()
        if field in ("fee_percent_bps", "fee_fixed_minor", "log_retention_days"):
            try:
                values[gql_name] = int(raw)
            except ValueError:
                raise InvalidRequest(f"{field} must be a whole number", param=field) from None
        else:
            values[gql_name] = raw
    return values


@post("/settings", include_in_schema=False)
@guarded
async def settings_submit(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    try:
        result = (await operations.run("UpdateAccountSettings", ctx, {"input": _settings_input(form)}))[
            "updateAccountSettings"]
        error = mutation_error(result)
    except InvalidRequest as exc:
        error = {"message": exc.message, "code": exc.code, "field": exc.param}
    if error:
        return await show(request, ctx, "SettingsPage", "accounts/settings.html", "settings", status=400,
                          can_admin=_can_admin(ctx), error=error)
    return redirect(request, "/settings?saved=1")


@post("/settings/delete-test-data", include_in_schema=False)
@guarded
async def settings_delete_test_data(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    result = (await operations.run("DeleteTestData", ctx, {"confirm": str(form.get("confirm", ""))}))[
        "deleteTestData"]
    error = mutation_error(result)
    return await show(request, ctx, "SettingsPage", "accounts/settings.html", "settings", status=400 if error else 200,
                      can_admin=_can_admin(ctx), error=error, deleted=None if error else result["deleted"])


@get("/audit", include_in_schema=False)
@guarded
async def audit_page(request: Request) -> Response:
    ctx = await dashboard_context(request)
    after = request.query_params.get("after")
    return await show(request, ctx, "AuditPage", "accounts/audit.html", "audit", {"after": after},
                      block="rows" if after else None)


PLACEHOLDERS = {
    "disputes": ("Disputes", "Disputes arrive after payments."),
    "radar": ("Radar", "Fraud rules and the review queue arrive after payments."),
    "analytics": ("Analytics", "Charts of volume and API traffic arrive after payments."),
    "reports": ("Reports", "Monthly usage reports and CSV exports arrive after payments."),
    "benchmarks": ("Benchmarks", "Privacy-safe peer benchmarks arrive after analytics."),
}


def _placeholder(key: str):
    area, note = PLACEHOLDERS[key]

    @get(f"/{key}", include_in_schema=False, name=f"placeholder-{key}")
    @guarded
    async def handler(request: Request) -> Response:
        ctx = await dashboard_context(request)
        return await show(request, ctx, "LayoutPage", "placeholder.html", key, area=area, note=note)

    return handler


PLACEHOLDER_HANDLERS = [_placeholder(key) for key in PLACEHOLDERS]

HANDLERS = [login_page, login_submit, logout, toggle_mode, switch_account, home, team_page, team_invite,
            team_change_role, team_remove, team_revoke_invitation, invitation_page, invitation_accept, settings_page,
            settings_submit, settings_delete_test_data, audit_page, *PLACEHOLDER_HANDLERS]

__all__ = ["HANDLERS", "PaydeckError"]
