"""The role × permission matrix and API-key rights, cell by cell, through GraphQL, the pages and REST.

The cases are generated from `server.permissions`: every Role × every Permission.
Each permission must be listed in PROBES (operations that need exactly it) or
in NOT_EXPOSED_YET (no operation needs it yet); a new permission in neither
fails `test_every_permission_is_mapped` and every cell of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from server.permissions import (
    API_RESOURCES,
    RESOURCES,
    ROLE_PERMISSIONS,
    Access,
    Level,
    Permission,
    Role,
    user_permission_for,
)
from tests.factories import add_member, bearer, create_key, error_code, gql, login, new_account

P = Permission


@dataclass(frozen=True)
class Probe:
    """A GraphQL operation and a page request that need one permission and nothing more."""

    query: str
    variables: Callable[[], dict] = field(default=dict)
    page: tuple[str, str, Callable[[], dict] | None] | None = None  # (method, path, form)
    # Answers that still prove the permission was granted: the check comes first, so a NotFoundError for an
    # object that does not exist means the caller got past it (a probe needs no object of its own).
    granted: tuple[str, ...] = ()


def _email() -> dict:
    return {"email": f"probe-{secrets.token_hex(5)}@example.com"}


PROBES: dict[Permission, list[Probe]] = {
    P.MANAGE_API_KEYS: [
        Probe("{ r: apiKeys(first: 1) { nodes { id } } }", page=("GET", "/apikeys", None)),
        Probe('mutation { r: createApiKey(input: {kind: "publishable", name: "matrix"}) { __typename } }',
              page=("POST", "/apikeys", lambda: {"kind": "publishable", "name": "matrix"})),
    ],
    P.VIEW_API_LOGS: [
        Probe("{ r: apiRequests(first: 1) { nodes { id } } }", page=("GET", "/logs", None)),
        Probe("{ r: apiRequestSeries { bucketSeconds } }"),
    ],
    P.MANAGE_TEAM: [
        Probe("{ r: invitations(first: 1) { nodes { id } } }"),
        Probe("mutation($email: String!) { r: inviteMember(email: $email, role: VIEW_ONLY) { __typename } }",
              _email, page=("POST", "/team/invite", lambda: {**_email(), "role": "VIEW_ONLY"})),
    ],
    P.MANAGE_WEBHOOKS: [
        Probe("{ r: webhookEndpoints(first: 1) { nodes { id } } }", page=("GET", "/webhooks", None)),
        # A public literal address: accepted without any lookup, and nothing is ever sent to it here.
        Probe('mutation { r: createWebhookEndpoint(input: {url: "https://93.184.215.14/matrix", '
              'enabledEvents: ["customer.created"]}) { __typename } }',
              page=("POST", "/webhooks", lambda: {"url": "https://93.184.215.14/matrix",
                                                  "enabled_events": "customer.created"})),
    ],
    P.VIEW_CUSTOMERS: [
        Probe("{ r: customers(first: 1) { nodes { id } } }", page=("GET", "/customers", None)),
        Probe("{ r: transferClaims(first: 1) { nodes { id } } }", page=("GET", "/disputes/claims", None)),
    ],
    P.MANAGE_CUSTOMERS: [
        Probe('mutation { r: createCustomer(input: {name: "matrix"}) { __typename } }',
              page=("POST", "/customers", lambda: {"name": "matrix"})),
        Probe('mutation { r: openTransferClaim(input: {transfer: "tr_matrix"}) { __typename } }',
              granted=("NotFoundError",)),
        Probe('mutation { r: escalateTransferClaim(id: "tcl_matrix") { __typename } }', granted=("NotFoundError",)),
    ],
    P.VIEW_PAYMENTS: [
        Probe("{ r: paymentIntents(first: 1) { nodes { id } } }", page=("GET", "/payments", None)),
        Probe("{ r: disputes(first: 1) { nodes { id } } }", page=("GET", "/disputes", None)),
        Probe("{ r: files(first: 1) { nodes { id } } }"),
    ],
    P.MANAGE_PAYMENTS: [
        Probe('mutation { r: createPaymentIntent(input: {amount: 100, currency: "usd"}) { __typename } }'),
        Probe('mutation { r: closeDispute(id: "dp_matrix") { __typename } }', granted=("NotFoundError",)),
        Probe('mutation { r: createTestDispute(input: {paymentIntent: "pi_matrix"}) { __typename } }',
              granted=("NotFoundError",)),
        Probe('mutation { r: decideTransferClaim(id: "tcl_matrix", decision: "deny") { __typename } }',
              granted=("NotFoundError",)),
    ],
    P.VIEW_ANALYTICS: [
        Probe("{ r: benchmarkPolicy { kQuartiles } }", page=("GET", "/benchmarks", None)),
    ],
    P.ADMIN: [
        Probe("{ r: auditLog(first: 1) { nodes { id } } }", page=("GET", "/audit", None)),
        Probe('mutation { r: updateAccountSettings(input: {category: "software"}) { __typename } }',
              page=("POST", "/settings", lambda: {"category": "software"})),
        Probe("{ r: privacyBudget { spent monthlyEpsilonCap } }"),
        Probe('mutation { r: deleteTestData(confirm: "DELETE") { __typename } }',
              page=("POST", "/settings/delete-test-data", lambda: {"confirm": "DELETE"})),
    ],
}
# Permissions no GraphQL field or page needs yet; their cells are checked through
# `viewer.permissions`, which is computed by the same check that enforces them.
# Move a permission to PROBES as soon as an operation needs it.
NOT_EXPOSED_YET: set[Permission] = set()

CELLS = [(role, perm) for role in Role for perm in Permission]


def _accesses_needing(perm: Permission) -> list[str]:
    return [f"{name}:{level.value}" for name in RESOURCES for level in (Level.READ, Level.WRITE)
            if user_permission_for(Access(name, level)) is perm]


def test_every_permission_is_mapped():
    unmapped = [p for p in Permission if p not in PROBES and p not in NOT_EXPOSED_YET]
    assert not unmapped, f"add probes to tests/test_permissions.py for: {unmapped}"
    assert not set(PROBES) & NOT_EXPOSED_YET
    # Every permission guards something, or the matrix has a dead cell.
    assert all(_accesses_needing(p) for p in Permission)


@pytest.fixture(scope="module")
async def team(server):
    """One account with a logged-in member of every role."""
    account = await new_account(name="Matrix Co")
    sessions = {Role.OWNER: await login(server, account.user["email"])}
    for role in Role:
        if role is not Role.OWNER:
            email, _ = await add_member(account, role)
            sessions[role] = await login(server, email)
    yield sessions
    for session in sessions.values():
        await session.client.aclose()


@pytest.mark.parametrize(("role", "perm"), CELLS, ids=[f"{r.value}-{p.value}" for r, p in CELLS])
async def test_role_permission_cell(team, role: Role, perm: Permission):
    session = team[role]
    allowed = perm in ROLE_PERMISSIONS[role]

    viewer = await session.graphql("{ viewer { role permissions } }")
    assert viewer["data"]["viewer"]["role"] == role.name
    granted = set(viewer["data"]["viewer"]["permissions"])
    for access in _accesses_needing(perm):
        assert (access in granted) is allowed, (access, granted)

    if perm in NOT_EXPOSED_YET:
        return
    for probe in PROBES[perm]:
        result = await session.graphql(probe.query, probe.variables())
        if allowed:
            assert "errors" not in result, result
            assert result["data"]["r"] is not None
            typename = str(result["data"]["r"].get("__typename", ""))
            assert not typename.endswith("Error") or typename in probe.granted, result
        else:
            assert error_code(result) == "permission_denied", result
            assert perm.value in result["errors"][0]["message"]
            assert result["data"] is None or result["data"]["r"] is None
        if probe.page is None:
            continue
        method, path, form = probe.page
        if method == "GET":
            resp = await session.get(path)
            assert resp.status_code == (200 if allowed else 403), resp.text[:500]
        else:
            resp = await session.post(path, form() if form else {})
            assert resp.status_code in ((200, 303) if allowed else (403,)), resp.text[:500]
        if not allowed:
            assert "Not allowed" in resp.text and perm.value in resp.text


# --- API keys ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def keyed(server):
    account = await new_account(name="Keys Co")
    owner = await login(server, account.user["email"])
    yield account, owner
    await owner.client.aclose()


async def _viewer_permissions(http, token: str) -> set[str]:
    result = await gql(http, "{ viewer { keyKind permissions } }", headers=bearer(token))
    assert "errors" not in result, result
    return set(result["data"]["viewer"]["permissions"])


class TestSecretKey:
    async def test_has_every_api_right_and_no_dashboard_right(self, http, keyed):
        account, _ = keyed
        granted = await _viewer_permissions(http, account.keys["secret_test"])
        expected = {f"{r}:{lvl}" for r in API_RESOURCES for lvl in ("read", "write")}
        assert granted == expected

    async def test_reads_the_account(self, http, keyed):
        account, _ = keyed
        resp = await http.get("/v1/account", headers=bearer(account.keys["secret_test"]))
        assert resp.status_code == 200

    @pytest.mark.parametrize("query", ["{ apiKeys { nodes { id } } }", "{ auditLog { nodes { id } } }",
                                       "{ invitations { nodes { id } } }"])
    async def test_dashboard_only_fields_are_refused_naming_the_permission(self, http, keyed, query):
        account, _ = keyed
        result = await gql(http, query, headers=bearer(account.keys["secret_test"]))
        assert error_code(result) == "permission_denied"
        assert "dashboard only" in result["errors"][0]["message"]
        assert ":" in result["errors"][0]["extensions"]["permission"]

    async def test_cannot_change_settings(self, http, keyed):
        account, _ = keyed
        result = await gql(http, 'mutation { updateAccountSettings(input: {name: "K"}) { __typename } }',
                           headers=bearer(account.keys["secret_test"]))
        assert error_code(result) == "permission_denied"
        assert result["errors"][0]["extensions"]["permission"] == "settings:write"


class TestPublishableKey:
    async def test_has_only_the_right_to_confirm_with_a_client_secret(self, http, keyed):
        account, _ = keyed
        granted = await _viewer_permissions(http, account.keys["publishable_test"])
        assert granted == {"payment_intent_confirmation:write"}

    async def test_cannot_read_the_account(self, http, keyed):
        account, _ = keyed
        resp = await http.get("/v1/account", headers=bearer(account.keys["publishable_test"]))
        assert resp.status_code == 403, resp.text
        error = resp.json()["error"]
        assert error["type"] == "permission_error"
        assert error["permission"] == "account:read"
        assert "publishable" in error["message"] and "account:read" in error["message"]

    async def test_graphql_account_is_refused(self, http, keyed):
        account, _ = keyed
        result = await gql(http, "{ account { id } }", headers=bearer(account.keys["publishable_test"]))
        assert error_code(result) == "permission_denied"
        assert result["errors"][0]["extensions"]["permission"] == "account:read"


class TestRestrictedKey:
    async def test_rights_are_exactly_what_was_granted(self, http, keyed):
        _, owner = keyed
        levels = ["none", "read", "write"]
        rights = {r: levels[i % 3] for i, r in enumerate(API_RESOURCES)}
        key = await create_key(owner, "restricted",
                               permissions=[{"resource": r, "level": lvl} for r, lvl in rights.items()])
        assert key["secret"].startswith("rk_test_")
        expected = set()
        for resource, level in rights.items():
            if level in ("read", "write"):
                expected.add(f"{resource}:read")
            if level == "write":
                expected.add(f"{resource}:write")
        assert await _viewer_permissions(http, key["secret"]) == expected

    async def test_without_account_read_gets_403_naming_it(self, http, keyed):
        _, owner = keyed
        key = await create_key(owner, "restricted", permissions=[{"resource": "customers", "level": "write"}])
        resp = await http.get("/v1/account", headers=bearer(key["secret"]))
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["permission"] == "account:read"
        assert "restricted key lacks the 'account:read' permission" in resp.json()["error"]["message"]

    async def test_with_account_read_reads_the_account(self, http, keyed):
        account, owner = keyed
        key = await create_key(owner, "restricted", permissions=[{"resource": "account", "level": "read"}])
        resp = await http.get("/v1/account", headers=bearer(key["secret"]))
        assert resp.status_code == 200, resp.text
        assert resp.json()["id"] == account.account["id"]

    @pytest.mark.parametrize(("permissions", "field"), [
        ([{"resource": "api_keys", "level": "read"}], "permissions"),
        ([{"resource": "customers", "level": "admin"}], "permissions"),
        ([{"resource": "customers", "level": "none"}], "permissions"),
    ])
    async def test_invalid_rights_are_refused(self, keyed, permissions, field):
        _, owner = keyed
        result = await owner.graphql(
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename "
            "... on Error { message field } } }", {"input": {"kind": "restricted", "permissions": permissions}})
        payload = result["data"]["createApiKey"]
        assert payload["__typename"] == "ValidationError"
        assert payload["field"] == field


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_every_page_renders_or_refuses_for_every_role(team, role: Role):
    from tests.accounts.test_modes import dashboard_pages

    refused = set()
    for path in dashboard_pages():
        resp = await team[role].get(path)
        assert resp.status_code in (200, 403), (path, resp.status_code)
        if resp.status_code == 403:
            refused.add(path)
    expected = set()
    if P.MANAGE_API_KEYS not in ROLE_PERMISSIONS[role]:
        expected.add("/apikeys")
    if P.ADMIN not in ROLE_PERMISSIONS[role]:
        expected.add("/audit")
    if P.MANAGE_WEBHOOKS not in ROLE_PERMISSIONS[role]:
        expected.add("/webhooks")
    if P.VIEW_API_LOGS not in ROLE_PERMISSIONS[role]:
        expected |= {"/logs", "/logs/tail"}
    if P.VIEW_ANALYTICS not in ROLE_PERMISSIONS[role]:
        expected.add("/benchmarks")
    assert refused == expected
