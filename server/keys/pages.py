"""Dashboard pages for API keys: list, create (secret shown once), roll, revoke."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response

from server.errors import InvalidRequest
from server.instants import parse_instant
from server.permissions import API_RESOURCES
from server.web.forms import Variables, submit
from server.web.pages import dashboard_context, dashboard_get, dashboard_post, show

# How long a rolled key keeps working; the default is what the page says a roll does.
ROLL_CHOICES = [(0, "no time (stop now)"), (1, "1 hour"), (24, "24 hours"), (72, "3 days"), (168, "7 days")]
ROLL_DEFAULT_HOURS = 24


async def _render(request: Request, ctx, status: int = 200, **extra: Any) -> Response:
    return await show(request, ctx, "ApiKeysPage", "keys/list.html", "apikeys", status=status,
                      api_resources=API_RESOURCES, roll_choices=ROLL_CHOICES, roll_default=ROLL_DEFAULT_HOURS,
                      roll_default_label=dict(ROLL_CHOICES)[ROLL_DEFAULT_HOURS], **extra)


@dashboard_get("/apikeys")
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


@dashboard_post("/apikeys")
async def keys_create(request: Request) -> Response:
    return await _change(request, "CreateApiKey", lambda form: {"input": _create_input(form)})


@dashboard_post("/apikeys/{key_id:str}/revoke")
async def keys_revoke(request: Request, key_id: str) -> Response:
    return await _change(request, "RevokeApiKey", {"id": key_id})


@dashboard_post("/apikeys/{key_id:str}/roll")
async def keys_roll(request: Request, key_id: str) -> Response:
    def variables(form: dict[str, Any]) -> dict[str, Any]:
        raw = str(form.get("expires_in_hours", ROLL_DEFAULT_HOURS)).strip()
        if not raw.isdigit():
            raise InvalidRequest("expires_in_hours must be a whole number of hours from 0 to 168",
                                 param="expires_in_hours")
        return {"id": key_id, "expiresInHours": int(raw)}

    return await _change(request, "RollApiKey", variables)


async def _change(request: Request, operation: str, variables: Variables) -> Response:
    """The keys page again, with the new secret (create, roll) or the error."""
    return await submit(request, operation, variables, page=partial(_render, request),
                        then=lambda done: _render(request, done.ctx,
                                                  created=done.result if "secret" in done.result else None))


HANDLERS = [keys_page, keys_create, keys_revoke, keys_roll]
