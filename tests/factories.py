"""Factories: real rows through the real services, with overridable defaults."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import httpx

from server.accounts.service import NewAccount, create_account
from server.context import Principal, RequestContext, Scope
from server.permissions import Role

PASSWORD = "correct horse battery staple"


async def new_account(**overrides) -> NewAccount:
    email = overrides.pop("email", f"owner-{secrets.token_hex(6)}@example.com")
    return await create_account(overrides.pop("name", "Test Shop"), email, overrides.pop("password", PASSWORD),
                                **overrides)


def user_ctx(account_id: str, user_id: str, role: Role = Role.OWNER, livemode: bool = False) -> RequestContext:
    return RequestContext(principal=Principal(kind="user", user_id=user_id, role=role, email="x@example.com"),
                          scope_=Scope(account_id, livemode))


@dataclass
class Browser:
    """A logged-in dashboard session driven over HTTP, as the pages would be."""

    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.client.get(path, **kw)

    async def post(self, path: str, data: dict | None = None, **kw) -> httpx.Response:
        return await self.client.post(path, data={"_csrf": self.csrf, **(data or {})}, **kw)

    async def graphql(self, query: str, variables: dict | None = None) -> dict:
        resp = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                      headers={"X-CSRF-Token": self.csrf})
        return resp.json()

    async def refresh_csrf(self) -> None:
        page = await self.client.get("/settings")
        self.csrf = csrf_from(page.text)


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def login(base_url: str, email: str, password: str = PASSWORD) -> Browser:
    client = httpx.AsyncClient(base_url=base_url, timeout=30)
    page = await client.get("/login")
    token = csrf_from(page.text)
    resp = await client.post("/login", data={"_csrf": token, "email": email, "password": password, "next": "/"})
    assert resp.status_code == 303, resp.text
    home = await client.get("/settings")
    return Browser(client, csrf_from(home.text))


async def add_member(account: NewAccount, role: Role, email: str | None = None) -> tuple[str, str]:
    """A user with `role` in the account, via a real invitation. Returns (email, membership id)."""
    from server.accounts import queries, team

    email = email or f"{role.value}-{secrets.token_hex(5)}@example.com"
    ctx = user_ctx(account.account["id"], account.user["id"])
    _, token = await team.invite(ctx, email, role.value)
    user, _ = await team.accept(token, PASSWORD, role.value)
    membership = await queries.membership(account.account["id"], user["id"])
    assert membership
    return email, membership["id"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None,
              headers: dict[str, str] | None = None) -> dict:
    """POST a GraphQL document; the HTTP status must be 200 (errors live in the body)."""
    resp = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def error_code(result: dict) -> str | None:
    """extensions.code of the first top-level GraphQL error, if any."""
    errors = result.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


async def create_key(session: Browser, kind: str = "secret", **extra) -> dict:
    """A key created through GraphQL by a dashboard session: {"id", "secret", ...}."""
    fields = {"kind": kind, **extra}
    result = await session.graphql(
        "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename "
        "... on ApiKeySecretPayload { secret apiKey { id kind display expiresAt } } ... on Error { message } } }",
        {"input": fields})
    payload = result["data"]["createApiKey"]
    assert payload["__typename"] == "ApiKeySecretPayload", result
    return {**payload["apiKey"], "secret": payload["secret"]}
