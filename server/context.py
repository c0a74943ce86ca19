"""Who is asking, for which account and mode: resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.errors import AuthenticationFailed, ErrorCode, PermissionDenied
from server.permissions import Access, Role, key_allows, role_allows, user_permission_for


@dataclass(frozen=True)
class Scope:
    """Account + mode. Every query of merchant data takes one."""

    account_id: str
    livemode: bool

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "api_key" | "anonymous"
    user_id: str | None = None
    email: str | None = None
    role: Role | None = None
    key_id: str | None = None
    key_kind: str | None = None  # secret | publishable | restricted
    key_rights: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    csrf_token: str | None = None

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def is_key(self) -> bool:
        return self.kind == "api_key"

    def allows(self, access: Access) -> bool:
        if self.is_user and self.role is not None:
            return role_allows(self.role, access)
        if self.is_key and self.key_kind:
            return key_allows(self.key_kind, self.key_rights, access)
        return False


ANONYMOUS = Principal(kind="anonymous")


@dataclass
class RequestContext:
    """The context object of GraphQL, REST handlers and pages alike."""

    principal: Principal = ANONYMOUS
    scope_: Scope | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    ip_address: str | None = None
    request: Any = None
    response: Any = None
    websocket: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.principal.kind != "anonymous" and self.scope_ is not None

    @property
    def scope(self) -> Scope:
        if self.scope_ is None:
            raise AuthenticationFailed(
                "authentication required: send 'Authorization: Bearer <key>' or log in",
                code=ErrorCode.AUTHENTICATION_REQUIRED,
            )
        return self.scope_

    def require(self, access: Access) -> Scope:
        scope = self.scope
        if not self.principal.allows(access):
            raise PermissionDenied(denial_message(self.principal, access), extra={"permission": access.label})
        return scope

    def can(self, access: Access) -> bool:
        return self.authenticated and self.principal.allows(access)


def denial_message(principal: Principal, access: Access) -> str:
    if principal.is_key:
        if principal.key_kind == "publishable":
            return f"a publishable key cannot use '{access.label}'; use a secret key on your server"
        if principal.key_kind == "restricted":
            return f"this restricted key lacks the '{access.label}' permission"
        return f"API keys cannot use '{access.label}'; it is available in the dashboard only"
    needed = user_permission_for(access)
    role = principal.role.value if principal.role else "none"
    return f"your role '{role}' lacks the '{needed.value if needed else access.label}' permission"
