"""Dashboard pages for API keys: list, create (secret shown once), roll, revoke."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from server import operations
from server.errors import InvalidRequest
from server.instants import parse_instant
from server.permissions import API_RESOURCES
from server.web.pages import dashboard_context, form_data, guarded, mutation_error, show

# How long a rolled key keeps working; the default is what the page says a roll does.
ROLL_CHOICES = [(0, "no time (stop now)"), (1, "1 hour"), (24, "24 hours"), (72, "3 days"), (168, "7 days")]
ROLL_DEFAULT_HOURS = 24


async def _render(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    return await show(request, ctx, "ApiKeysPage", "keys/list.html", "apikeys", status=status,
                      api_resources=API_RESOURCES, roll_choices=ROLL_CHOICES, roll_default=ROLL_DEFAULT_HOURS,
                      roll_default_label=dict(ROLL_CHOICES)[ROLL_DEFAULT_HOURS], **extra)


def _error(exc: InvalidRequest) -> dict[str, Any]:
    return {"message": exc.message, "code": exc.code, "field": exc.param}


@get("/apikeys", include_in_schema=False)
@guarded
async def keys_page(request: Request) -> Response:
    return await _render(request, await dashboard_context(request))


def _create_input(form: dict[str, Any]) -> dict[str, Any]:
    kind = str(form.get("kind", "secret"))
    data: dict[str, Any] = {"kind": kind, "name": str(form.get("name", "")).strip()}
    if raw := str(form.get("expires_at", "")).strip():
        when = parse_instant(raw, "expires_at")
        assert when is not None
        data["expiresAt"] = when.isoformat()
    if kind == "restricted":
        data["permissions"] = [{"resource": r, "level": str(form.get(f"perm_{r}", "none"))} for r in API_RESOURCES]
    return data


@post("/apikeys", include_in_schema=False)
@guarded
async def keys_create(request: Request) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    try:
        result = (await operations.run("CreateApiKey", ctx, {"input": _create_input(form)}))["createApiKey"]
        error = mutation_error(result)
    except InvalidRequest as exc:
        result, error = {}, _error(exc)
    if error:
        return await _render(request, ctx, status=400, error=error)
    return await _render(request, ctx, created=result)


@post("/apikeys/{key_id:str}/revoke", include_in_schema=False)
@guarded
async def keys_revoke(request: Request, key_id: str) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    result = (await operations.run("RevokeApiKey", ctx, {"id": key_id}))["revokeApiKey"]
    error = mutation_error(result)
    return await _render(request, ctx, status=404 if error and error["code"] == "resource_missing" else
                         (409 if error else 200), error=error)


@post("/apikeys/{key_id:str}/roll", include_in_schema=False)
@guarded
async def keys_roll(request: Request, key_id: str) -> Response:
    form = await form_data(request)
    ctx = await dashboard_context(request, form)
    raw = str(form.get("expires_in_hours", ROLL_DEFAULT_HOURS)).strip()
    try:
        if not raw.isdigit():
            raise InvalidRequest("expires_in_hours must be a whole number of hours from 0 to 168",
                                 param="expires_in_hours")
        result = (await operations.run("RollApiKey", ctx, {"id": key_id, "expiresInHours": int(raw)}))["rollApiKey"]
    except InvalidRequest as exc:
        return await _render(request, ctx, status=400, error=_error(exc))
    if error := mutation_error(result):
        status = {"resource_missing": 404, "conflict": 409}.get(error["code"], 400)
        return await _render(request, ctx, status=status, error=error)
    return await _render(request, ctx, created=result)


HANDLERS = [keys_page, keys_create, keys_revoke, keys_roll]
