"""GraphQL queries and mutations of API keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none
from server.keys import service
from server.keys import types as t


@strawberry.type
class KeyQuery:
    @strawberry.field(description="API keys of the current mode, newest first (needs manage_api_keys).")
    async def api_keys(self, info: Info, first: int | None = None, after: str | None = None,
                       include_revoked: bool = False) -> Connection[t.ApiKey]:
        page = await service.list_keys(ctx_of(info), first_arg(first), after, include_revoked)
        return connection(page, t.ApiKey.from_row)

    @strawberry.field(description="One API key of the current mode.")
    async def api_key(self, info: Info, id: strawberry.ID) -> t.ApiKey | None:
        return await one_or_none(t.ApiKey.from_row, service.get(ctx_of(info), str(id)))


@strawberry.type
class KeyMutation:
    @strawberry.mutation(description="Create a key in the current mode; its secret is in the result, once.")
    async def create_api_key(self, info: Info, input: t.CreateApiKeyInput) -> t.CreateApiKeyResult:
        rights = {p.resource: p.level for p in input.permissions or []}
        created = await service.create(ctx_of(info), input.kind, input.name, input.expires_at, rights)
        return t.ApiKeySecretPayload(api_key=t.ApiKey.from_row(created.key), secret=created.token, previous_key=None)

    @strawberry.mutation(description="Revoke a key at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> t.RevokeApiKeyResult:
        row = await service.revoke(ctx_of(info), str(id))
        return t.ApiKeyPayload(api_key=t.ApiKey.from_row(row))

    @strawberry.mutation(description="Replace a key; the old one keeps working for `expiresInHours` (0–168).")
    async def roll_api_key(self, info: Info, id: strawberry.ID, expires_in_hours: int = 0) -> t.RollApiKeyResult:
        ctx = ctx_of(info)
        created = await service.roll(ctx, str(id), expires_in_hours)
        old = await service.get(ctx, str(id))
        return t.ApiKeySecretPayload(api_key=t.ApiKey.from_row(created.key), secret=created.token,
                                     previous_key=t.ApiKey.from_row(old))
