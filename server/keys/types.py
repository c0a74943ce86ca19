"""GraphQL types of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from server import clock
from server.gql.common import ConflictError, NotFoundError, ValidationError


@strawberry.type(description="A restricted key's access to one API resource.")
class KeyPermission:
    resource: str = strawberry.field(description="API resource, e.g. `customers`.")
    level: str = strawberry.field(description="none, read or write.")


@strawberry.type(description="An API key. Its secret is shown only once, when created or rolled.")
class ApiKey:
    id: str = strawberry.field(description="`key_…`")
    kind: str = strawberry.field(description="secret, publishable or restricted.")
    name: str = strawberry.field(description="A label of your choosing.")
    display: str = strawberry.field(description="Prefix and last four characters, e.g. `sk_test_…a1B2`.")
    livemode: bool = strawberry.field(description="The mode the key acts in.")
    created: datetime = strawberry.field(description="When it was created.")
    last_used_at: datetime | None = strawberry.field(description="Last use, to the minute.")
    expires_at: datetime | None = strawberry.field(description="When it stops working, if set.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    rolled_to: str | None = strawberry.field(description="The key that replaced it, if rolled.")
    permissions: list[KeyPermission] = strawberry.field(description="A restricted key's rights.")

    @strawberry.field(description="active, expiring (rolled, still working), expired or revoked.")
    def status(self) -> str:
        now = clock.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.rolled_to is not None or self.expires_at is not None:
            return "expiring"
        return "active"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApiKey:
        rights = row.get("permissions") or {}
        return cls(id=row["id"], kind=row["kind"], name=row["name"], display=row["display"],
                   livemode=row["livemode"], created=row["created"], last_used_at=row["last_used_at"],
                   expires_at=row["expires_at"], revoked_at=row["revoked_at"], rolled_to=row["rolled_to"],
                   permissions=[KeyPermission(resource=k, level=v) for k, v in sorted(rights.items())])


@strawberry.input(description="A restricted key's access to one API resource.")
class KeyPermissionInput:
    resource: str
    level: str


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    kind: str = strawberry.field(description="secret, publishable or restricted.")
    name: str = strawberry.field(default="", description="A label.")
    expires_at: datetime | None = strawberry.field(default=None, description="Optional expiry.")
    permissions: list[KeyPermissionInput] | None = strawberry.field(
        default=None, description="For restricted keys: rights per resource.")


@strawberry.type(description="The key, and its secret: shown this once only.")
class ApiKeySecretPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret: str = strawberry.field(description="The full key. Store it now; it cannot be shown again.")
    previous_key: ApiKey | None = strawberry.field(description="For a roll: the replaced key and its expiry.")


@strawberry.type(description="The key after the change.")
class ApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")


CreateApiKeyResult = Annotated[ApiKeySecretPayload | ValidationError, strawberry.union("CreateApiKeyResult")]
RollApiKeyResult = Annotated[ApiKeySecretPayload | ValidationError | NotFoundError | ConflictError,
                             strawberry.union("RollApiKeyResult")]
RevokeApiKeyResult = Annotated[ApiKeyPayload | NotFoundError | ConflictError, strawberry.union("RevokeApiKeyResult")]
