"""API keys: create, list, roll, revoke, and authenticate a request's key."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from server import clock, db
from server.audit import service as audit
from server.context import Principal, RequestContext, Scope
from server.errors import AuthenticationFailed, Conflict, ErrorCode, InvalidRequest, NotFound
from server.ids import new_id
from server.infra import redis
from server.keys import cache, queries, tokens
from server.pagination import Page, decode_cursor
from server.permissions import validate_rights, write

KINDS = ("secret", "publishable", "restricted")
MAX_ROLL_HOURS = 7 * 24
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass
class CreatedKey:
    key: dict[str, Any]
    token: str


def _rights(row: dict[str, Any]) -> dict[str, str]:
    return row.get("permissions") or {}


async def issue(scope: Scope, kind: str, name: str = "", *, created_by: str | None = None,
                expires_at: datetime | None = None, rights: dict[str, str] | None = None) -> CreatedKey:
    """Create a key row and return it with its token; the caller holds the transaction."""
    token = tokens.generate(kind, scope.livemode)
    row = {
        "id": new_id("key"), "account_id": scope.account_id, "livemode": scope.livemode, "kind": kind,
        "name": name, "display": tokens.display(token), "token_hash": tokens.hash_token(token),
        "permissions": rights or {}, "created_by": created_by, "created": clock.now(), "expires_at": expires_at,
        "last_used_at": None, "revoked_at": None, "rolled_to": None,
    }
    await queries.insert(row)
    return CreatedKey(row, token)


async def create(ctx: RequestContext, kind: str, name: str, expires_at: datetime | None = None,
                 rights: dict[str, str] | None = None) -> CreatedKey:
    scope = ctx.require(write("api_keys"))
    if kind not in KINDS:
        raise InvalidRequest("kind must be one of secret, publishable, restricted", param="kind")
    name = (name or "").strip()
    if len(name) > 120:
        raise InvalidRequest("name must be at most 120 characters", param="name")
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)  # as the dashboard form does: no zone means UTC
    if expires_at is not None and expires_at <= clock.now():
        raise InvalidRequest("expires_at must be in the future", param="expires_at")
    clean_rights = validate_rights(rights or {}) if kind == "restricted" else {}
    if kind == "restricted" and not any(v != "none" for v in clean_rights.values()):
        raise InvalidRequest("a restricted key needs at least one read or write permission", param="permissions")
    async with db.transaction():
        created = await issue(scope, kind, name, created_by=ctx.principal.user_id, expires_at=expires_at,
                              rights=clean_rights)
        await audit.record(ctx, scope.account_id, "api_key.created", "api_key", created.key["id"],
                           {"kind": kind, "name": name, "display": created.key["display"]}, scope.livemode)
    return created


async def get(ctx: RequestContext, key_id: str) -> dict[str, Any]:
    scope = ctx.require(write("api_keys"))
    row = await queries.get(scope, key_id)
    if row is None:
        raise NotFound(f"no API key '{key_id}'", param="id")
    return row


async def list_keys(ctx: RequestContext, limit: int, cursor: str | None,
                    include_revoked: bool = False) -> Page[dict[str, Any]]:
    scope = ctx.require(write("api_keys"))
    rows = await queries.list_page(scope, decode_cursor(cursor), limit, include_revoked)
    return Page.from_rows(rows, limit)


async def revoke(ctx: RequestContext, key_id: str) -> dict[str, Any]:
    scope = ctx.require(write("api_keys"))
    async with db.transaction():
        row = await queries.get_for_update(scope, key_id)
        if row is None:
            raise NotFound(f"no API key '{key_id}'", param="id")
        if row["revoked_at"] is not None:
            raise Conflict("this API key is already revoked", param="id")
        now = clock.now()
        await queries.update(scope, key_id, revoked_at=now)
        db.after_commit(cache.keys_changed)
        await audit.record(ctx, scope.account_id, "api_key.revoked", "api_key", key_id,
                           {"display": row["display"]}, scope.livemode)
        row["revoked_at"] = now
    return row


async def roll(ctx: RequestContext, key_id: str, expires_in_hours: int = 0) -> CreatedKey:
    """Replace a key; the old one keeps working for `expires_in_hours` (0–168)."""
    scope = ctx.require(write("api_keys"))
    if not 0 <= expires_in_hours <= MAX_ROLL_HOURS:
        raise InvalidRequest(f"expires_in_hours must be between 0 and {MAX_ROLL_HOURS}", param="expires_in_hours")
    async with db.transaction():
        row = await queries.get_for_update(scope, key_id)
        if row is None:
            raise NotFound(f"no API key '{key_id}'", param="id")
        if row["revoked_at"] is not None or row["rolled_to"] is not None:
            raise Conflict("only an active key that has not been rolled can be rolled", param="id")
        now = clock.now()
        old_expiry = now + timedelta(hours=expires_in_hours)
        if row["expires_at"] is not None:
            old_expiry = min(old_expiry, row["expires_at"])
        created = await issue(scope, row["kind"], row["name"], created_by=ctx.principal.user_id,
                              expires_at=row["expires_at"], rights=_rights(row))
        changes: dict[str, Any] = {"rolled_to": created.key["id"], "expires_at": old_expiry}
        if expires_in_hours == 0:
            changes["revoked_at"] = now
        await queries.update(scope, key_id, **changes)
        db.after_commit(cache.keys_changed)
        await audit.record(ctx, scope.account_id, "api_key.rolled", "api_key", key_id,
                           {"new_key": created.key["id"], "old_key_expires_at": old_expiry.isoformat()},
                           scope.livemode)
    return created


async def authenticate(token: str, rate_limit: int) -> tuple[Principal, Scope, int | None]:
    """Resolve a bearer token; a 401 says whether it is malformed, unknown, revoked or expired. The request is
    counted against the key's `rate_limit` per second in the same Redis round trip as the key's check: the third
    value is the seconds to wait when over it (the caller refuses with 429), else None."""
    kind, _ = tokens.parse(token)
    row, wait = await cache.key_row_counted(tokens.hash_token(token), rate_limit, 1)
    if row is None:
        raise AuthenticationFailed("unknown API key: no key matches; it may have been deleted or mistyped",
                                   code=ErrorCode.API_KEY_UNKNOWN)
    now = clock.now()
    if row["revoked_at"] is not None and row["revoked_at"] <= now:
        raise AuthenticationFailed("API key has been revoked", code=ErrorCode.API_KEY_REVOKED)
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise AuthenticationFailed(f"API key expired at {row['expires_at'].isoformat()}",
                                   code=ErrorCode.API_KEY_EXPIRED)
    await _mark_used(row["id"], now)
    principal = Principal(kind="api_key", key_id=row["id"], key_kind=kind, key_rights=_rights(row))
    return principal, Scope(row["account_id"], row["livemode"]), wait


_marked: dict[str, float] = {}  # key id -> when this process last recorded its use (monotonic)


async def _mark_used(key_id: str, now: datetime) -> None:
    """Record last use at most once a minute per key, so the hot path stays a read: Redis decides which
    process records it, and each process asks Redis at most once a minute per key."""
    tick = time.monotonic()
    if tick - _marked.get(key_id, -LAST_USED_RESOLUTION_SECONDS) < LAST_USED_RESOLUTION_SECONDS:
        return
    if len(_marked) >= cache.MAX_ENTRIES:
        _marked.clear()
    _marked[key_id] = tick
    if await redis().set(f"key-used:{key_id}", "1", nx=True, ex=LAST_USED_RESOLUTION_SECONDS):
        await queries.touch(key_id, now)
