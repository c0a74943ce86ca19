"""Roles, permissions and API-key rights: the whole matrix, in one place.

A dashboard user acts through the permissions of their role. An API key acts
through rights on API resources: secret keys have every API right,
restricted keys the rights they were given, publishable keys only what a
browser may do (confirm a payment with its client secret). Every check in
the code goes through `require()` with an `Access`, so REST, GraphQL and the
pages cannot disagree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Permission(enum.StrEnum):
    VIEW_PAYMENTS = "view_payments"
    MANAGE_PAYMENTS = "manage_payments"
    VIEW_CUSTOMERS = "view_customers"
    MANAGE_CUSTOMERS = "manage_customers"
    VIEW_API_LOGS = "view_api_logs"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_WEBHOOKS = "manage_webhooks"
    VIEW_ANALYTICS = "view_analytics"
    MANAGE_TEAM = "manage_team"
    ADMIN = "admin"


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    ANALYST = "analyst"
    SUPPORT = "support"
    VIEW_ONLY = "view_only"


P = Permission
ALL = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: ALL,
    Role.ADMIN: ALL,
    Role.DEVELOPER: frozenset({
        P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS, P.VIEW_CUSTOMERS, P.MANAGE_CUSTOMERS,
        P.VIEW_API_LOGS, P.MANAGE_API_KEYS, P.MANAGE_WEBHOOKS, P.VIEW_ANALYTICS,
    }),
    Role.ANALYST: frozenset({P.VIEW_PAYMENTS, P.VIEW_CUSTOMERS, P.VIEW_API_LOGS, P.VIEW_ANALYTICS}),
    Role.SUPPORT: frozenset({P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS, P.VIEW_CUSTOMERS, P.MANAGE_CUSTOMERS}),
    Role.VIEW_ONLY: frozenset({P.VIEW_PAYMENTS, P.VIEW_CUSTOMERS, P.VIEW_ANALYTICS}),
}

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.OWNER: "Everything, including ownership of the account.",
    Role.ADMIN: "Everything except granting or removing ownership.",
    Role.DEVELOPER: "Payments, customers, API keys, webhooks, logs and analytics.",
    Role.ANALYST: "Reads payments, customers, logs and analytics; changes nothing.",
    Role.SUPPORT: "Payments and customers: refunds, captures, customer edits.",
    Role.VIEW_ONLY: "Reads payments, customers and analytics.",
}


class Level(enum.StrEnum):
    NONE = "none"
    READ = "read"
    WRITE = "write"

    def allows(self, needed: Level) -> bool:
        order = [Level.NONE, Level.READ, Level.WRITE]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Resource:
    """An API resource: what a user needs to read or write it, and whether keys may."""

    name: str
    read: Permission | None
    write: Permission
    api: bool = True


RESOURCES: dict[str, Resource] = {r.name: r for r in [
    Resource("account", None, P.ADMIN),
    Resource("customers", P.VIEW_CUSTOMERS, P.MANAGE_CUSTOMERS),
    Resource("balance", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("transfers", P.VIEW_CUSTOMERS, P.MANAGE_CUSTOMERS),
    Resource("payment_intents", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("refunds", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("events", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("disputes", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("files", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    # Claims on wallet transfers: the parties act through the customers right, a decision needs payments.
    Resource("transfer_claims", P.VIEW_CUSTOMERS, P.MANAGE_CUSTOMERS),
    Resource("transfer_claim_decisions", P.VIEW_PAYMENTS, P.MANAGE_PAYMENTS),
    Resource("webhook_endpoints", P.MANAGE_WEBHOOKS, P.MANAGE_WEBHOOKS),
    Resource("request_logs", P.VIEW_API_LOGS, P.VIEW_API_LOGS),
    Resource("analytics", P.VIEW_ANALYTICS, P.VIEW_ANALYTICS),
    # Seller benchmarks: releases are computed by a job, so nothing is written through the API.
    Resource("benchmarks", P.VIEW_ANALYTICS, P.ADMIN),
    Resource("privacy_budget", P.ADMIN, P.ADMIN),
    # Dashboard-only: no API key can reach these.
    Resource("api_keys", P.MANAGE_API_KEYS, P.MANAGE_API_KEYS, api=False),
    Resource("team", None, P.MANAGE_TEAM, api=False),
    Resource("audit_log", P.ADMIN, P.ADMIN, api=False),
    Resource("settings", None, P.ADMIN, api=False),
    Resource("test_data", P.ADMIN, P.ADMIN, api=False),
    # The one thing a publishable key may do: confirm a payment intent, proving the client secret.
    Resource("payment_intent_confirmation", P.MANAGE_PAYMENTS, P.MANAGE_PAYMENTS, api=False),
]}

API_RESOURCES = [name for name, r in RESOURCES.items() if r.api]


@dataclass(frozen=True)
class Access:
    resource: str
    level: Level

    def __post_init__(self) -> None:
        assert self.resource in RESOURCES, self.resource

    @property
    def label(self) -> str:
        return f"{self.resource}:{self.level.value}"


def read(resource: str) -> Access:
    return Access(resource, Level.READ)


def write(resource: str) -> Access:
    return Access(resource, Level.WRITE)


def user_permission_for(access: Access) -> Permission | None:
    res = RESOURCES[access.resource]
    return res.write if access.level is Level.WRITE else res.read


def role_allows(role: Role, access: Access) -> bool:
    needed = user_permission_for(access)
    return needed is None or needed in ROLE_PERMISSIONS[role]


CONFIRM_WITH_CLIENT_SECRET = Access("payment_intent_confirmation", Level.WRITE)


def key_allows(kind: str, rights: dict[str, str], access: Access) -> bool:
    res = RESOURCES[access.resource]
    if kind == "publishable":
        return access == CONFIRM_WITH_CLIENT_SECRET
    if not res.api:
        return False
    if kind == "secret":
        return True
    if kind == "restricted":
        return Level(rights.get(access.resource, "none")).allows(access.level)
    return False


def validate_rights(rights: dict[str, str]) -> dict[str, str]:
    """Normalise a restricted key's rights; unknown resources or levels are errors."""
    from server.errors import InvalidRequest

    clean: dict[str, str] = {}
    for resource, level in rights.items():
        if resource not in API_RESOURCES:
            raise InvalidRequest(f"unknown resource '{resource}' for a restricted key", param="permissions")
        try:
            clean[resource] = Level(level).value
        except ValueError:
            raise InvalidRequest(
                f"permission for '{resource}' must be none, read or write", param="permissions"
            ) from None
    return clean
