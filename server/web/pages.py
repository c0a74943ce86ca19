"""What every dashboard page shares: the logged-in context, forms, stored operations."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect

from server import operations, sessions, textcheck
from server.auth import build_context
from server.context import RequestContext
from server.errors import ErrorCode, PaydeckError, PermissionDenied
from server.web.render import is_htmx, render_page

log = logging.getLogger(__name__)
Handler = Callable[..., Awaitable[Response]]
ERROR_TITLES = {400: "That did not work", 401: "Please log in", 403: "Not allowed", 404: "Page not found",
                405: "Page not found", 409: "That cannot be done now", 413: "Too large", 429: "Slow down"}


class LoginRequired(PaydeckError):
    status = 401
    type = "authentication_error"
    code = ErrorCode.LOGIN_REQUIRED


async def form_data(request: Request) -> dict[str, Any]:
    """The posted form; a field no handler could store (NUL, not UTF-8) is refused here, naming it."""
    form = await request.form()
    data = {k: v for k, v in form.items()}
    for name, value in data.items():
        textcheck.check(name, "form")
        if isinstance(value, str):
            textcheck.check(value, name)
    return data


async def dashboard_context(request: Request, form: dict[str, Any] | None = None) -> RequestContext:
    """The context of a logged-in dashboard user; CSRF-checked for POSTs."""
    ctx = await build_context(request, csrf_token=(form or {}).get("_csrf"))
    if not ctx.principal.is_user:
        raise LoginRequired("log in to use the dashboard")
    return ctx


def base_vars(ctx: RequestContext, data: dict[str, Any], active: str) -> dict[str, Any]:
    from server.urls import public_url

    return {"viewer": data.get("viewer"), "account": data.get("account"), "csrf_token": ctx.principal.csrf_token,
            "active": active, "public_url": public_url()}


async def show(request: Request, ctx: RequestContext, operation: str, template: str, active: str,
               variables: dict[str, Any] | None = None, block: str | None = None, status: int = 200,
               **extra: Any) -> Response:
    data = await operations.run(operation, ctx, variables)
    return render_page(request, template, {**data, **base_vars(ctx, data, active), **extra}, block=block,
                       status=status)


def redirect(request: Request, location: str) -> Response:
    if is_htmx(request):
        return Response("", status_code=200, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def safe_next(value: Any) -> str:
    text = str(value or "/")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/"


def login_redirect(request: Request) -> Response:
    return redirect(request, "/login?next=" + quote(request.url.path))


def anonymous_csrf(request: Request) -> tuple[str, Cookie | None]:
    """Double-submit token for forms used before login (login, accepting an invitation)."""
    token = request.cookies.get(sessions.CSRF_COOKIE)
    if token and 20 <= len(token) <= 64:
        return token, None
    token = secrets.token_urlsafe(32)
    opts = sessions.cookie_options()
    return token, Cookie(key=sessions.CSRF_COOKIE, value=token, httponly=True, secure=opts["secure"],
                         samesite="lax", path="/")


def check_anonymous_csrf(request: Request, form: dict[str, Any]) -> None:
    if not sessions.csrf_matches(request.cookies.get(sessions.CSRF_COOKIE), form.get("_csrf")):
        raise PermissionDenied("missing or invalid CSRF token; reload the page and try again",
                               code=ErrorCode.CSRF_FAILED, extra={"permission": "csrf"})


async def error_page(request: Request, exc: PaydeckError) -> Response:
    """A dashboard page that failed: inside the shell when we know who is asking."""
    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    context: dict[str, Any] = {"title": ERROR_TITLES.get(exc.status, "Something went wrong"), "message": exc.message,
                               "request_id": request.scope.get("state", {}).get("request_id")}
    try:
        ctx = await build_context(request, check_csrf=False)
        if ctx.principal.is_user:
            data = await operations.run("LayoutPage", ctx)
            context.update(base_vars(ctx, data, ""))
    except PaydeckError:
        pass
    except Exception:  # the error page itself must not fail: without the shell it still says what went wrong
        log.exception("could not draw the dashboard shell around an error page")
    return render_page(request, "error.html", context, status=exc.status)


def guarded(handler: Handler) -> Handler:
    """Render domain errors of a page handler as a page (inside the shell when logged in)."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return await handler(*args, **kwargs)
        except PaydeckError as exc:
            return await error_page(kwargs["request"], exc)

    return wrapper


def dashboard_get(path: str, **options: Any) -> Callable[[Handler], HTTPRouteHandler]:
    """A dashboard page at `path`: not in the API's OpenAPI document, its domain errors drawn as a page."""
    return lambda handler: get(path, include_in_schema=False, **options)(guarded(handler))


def dashboard_post(path: str, **options: Any) -> Callable[[Handler], HTTPRouteHandler]:
    """A dashboard form's target (see `server.web.forms.submit`), like `dashboard_get`."""
    return lambda handler: post(path, include_in_schema=False, **options)(guarded(handler))
