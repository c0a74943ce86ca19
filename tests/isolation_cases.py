"""Cross-tenant and cross-mode cases for every REST route and GraphQL root field.

`tests/test_isolation.py` walks the app's route table and the schema; each
route or field must have an entry here, or the suite fails. A case gets a
`Tenants` fixture: `owner` (account A, objects created in test mode) and
intruders (account B's test key, account A's live key / live-mode session);
it must show that the intruder gets "not found" (or only its own data) and
that nothing changed for the owner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from server.accounts.service import NewAccount


@dataclass
class Tenants:
    http: httpx.AsyncClient
    owner: NewAccount
    other: NewAccount
    owner_session: Any  # tests.factories.Browser, test mode
    other_session: Any
    objects: dict[str, Any] = field(default_factory=dict)

    def key(self, who: str = "owner", mode: str = "test") -> dict[str, str]:
        account = self.owner if who == "owner" else self.other
        return {"Authorization": f"Bearer {account.keys['secret_' + mode]}"}

    @property
    def intruders(self) -> list[tuple[str, dict[str, str]]]:
        """Another account's test key, and the owner's own live key (other mode)."""
        return [("other account", self.key("other", "test")), ("other mode", self.key("owner", "live"))]

    async def gql(self, headers: dict[str, str], query: str, variables: dict | None = None) -> dict:
        resp = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()


Case = Callable[[Tenants], Awaitable[None]]
REST_CASES: dict[str, Case] = {}
GRAPHQL_CASES: dict[str, Case] = {}


def rest(*routes: str):
    """Register a case for routes written as 'GET /v1/account'."""

    def register(fn: Case) -> Case:
        for route in routes:
            REST_CASES[route] = fn
        return fn

    return register


def graphql(*fields: str):
    """Register a case for root fields written as 'Query.apiKey' / 'Mutation.revokeApiKey'."""

    def register(fn: Case) -> Case:
        for name in fields:
            GRAPHQL_CASES[name] = fn
        return fn

    return register


# --- account -------------------------------------------------------------------------------


@rest("GET /v1/account")
async def _account(t: Tenants) -> None:
    for _, headers in t.intruders:
        resp = await t.http.get("/v1/account", headers=headers)
        assert resp.status_code == 200
        assert resp.json()["id"] != t.owner.account["id"] or resp.json()["livemode"] is True


@graphql("Query.viewer", "Query.account", "Query.roles")
async def _viewer(t: Tenants) -> None:
    data = await t.gql(t.key("other"), "{ viewer { accountId livemode } account { id } roles { role } }")
    assert data["data"]["viewer"]["accountId"] == t.other.account["id"]
    assert data["data"]["account"]["id"] == t.other.account["id"]


# --- API keys (dashboard sessions only) ----------------------------------------------------


@graphql("Query.apiKeys", "Query.apiKey", "Mutation.revokeApiKey", "Mutation.rollApiKey", "Mutation.createApiKey")
async def _api_keys(t: Tenants) -> None:
    owner_keys = await t.owner_session.graphql("{ apiKeys { nodes { id } } }")
    victim = owner_keys["data"]["apiKeys"]["nodes"][0]["id"]
    listed = await t.other_session.graphql("{ apiKeys(first: 100) { nodes { id } } }")
    assert victim not in [n["id"] for n in listed["data"]["apiKeys"]["nodes"]]
    one = await t.other_session.graphql("query($id: ID!) { apiKey(id: $id) { id } }", {"id": victim})
    assert one["data"]["apiKey"] is None
    for mutation in ("revokeApiKey(id: $id)", "rollApiKey(id: $id, expiresInHours: 0)"):
        result = await t.other_session.graphql(
            f"mutation($id: ID!) {{ r: {mutation} {{ __typename ... on Error {{ code }} }} }}", {"id": victim})
        assert result["data"]["r"]["__typename"] == "NotFoundError", result
    created = await t.other_session.graphql(
        'mutation { createApiKey(input: {kind: "secret"}) { ... on ApiKeySecretPayload { apiKey { id } } } }')
    new_id = created["data"]["createApiKey"]["apiKey"]["id"]
    after = await t.owner_session.graphql("{ apiKeys(first: 100) { nodes { id status } } }")
    ids = {n["id"]: n["status"] for n in after["data"]["apiKeys"]["nodes"]}
    assert ids[victim] == "active" and new_id not in ids
    # API keys cannot reach key management at all.
    denied = await t.gql(t.key("owner"), "{ apiKeys { nodes { id } } }")
    assert denied["errors"][0]["extensions"]["code"] == "permission_denied"


# --- team ----------------------------------------------------------------------------------


@graphql("Query.members", "Query.invitations", "Mutation.inviteMember", "Mutation.revokeInvitation",
         "Mutation.changeMemberRole", "Mutation.removeMember")
async def _team(t: Tenants) -> None:
    invited = await t.owner_session.graphql(
        'mutation { inviteMember(email: "iso-target@example.com", role: DEVELOPER) '
        "{ ... on InviteMemberPayload { invitation { id } } } }")
    invitation_id = invited["data"]["inviteMember"]["invitation"]["id"]
    members = await t.owner_session.graphql("{ members { nodes { id } } }")
    membership_id = members["data"]["members"]["nodes"][0]["id"]
    seen = await t.other_session.graphql("{ members { nodes { id } } invitations { nodes { id } } }")
    assert membership_id not in [n["id"] for n in seen["data"]["members"]["nodes"]]
    assert invitation_id not in [n["id"] for n in seen["data"]["invitations"]["nodes"]]
    for mutation, var in (("revokeInvitation(id: $id)", invitation_id),
                          ("changeMemberRole(id: $id, role: VIEW_ONLY)", membership_id),
                          ("removeMember(id: $id)", membership_id)):
        result = await t.other_session.graphql(
            f"mutation($id: ID!) {{ r: {mutation} {{ __typename }} }}", {"id": var})
        assert result["data"]["r"]["__typename"] == "NotFoundError", result
    still = await t.owner_session.graphql("{ members { nodes { id role } } invitations { nodes { id } } }")
    assert [n["role"] for n in still["data"]["members"]["nodes"] if n["id"] == membership_id] == ["OWNER"]
    assert invitation_id in [n["id"] for n in still["data"]["invitations"]["nodes"]]


# --- settings, audit, test data ------------------------------------------------------------


@graphql("Mutation.updateAccountSettings", "Query.auditLog", "Mutation.deleteTestData")
async def _settings(t: Tenants) -> None:
    await t.other_session.graphql('mutation { updateAccountSettings(input: {name: "Intruder"}) { __typename } }')
    await t.other_session.graphql('mutation { deleteTestData(confirm: "DELETE") { __typename } }')
    mine = await t.owner_session.graphql("{ account { name } auditLog { nodes { action } } }")
    assert mine["data"]["account"]["name"] != "Intruder"
    assert "test_data.deleted" not in [n["action"] for n in mine["data"]["auditLog"]["nodes"]]
    theirs = await t.other_session.graphql("{ auditLog(first: 100) { nodes { targetId } } }")
    assert t.owner.account["id"] not in [n["targetId"] for n in theirs["data"]["auditLog"]["nodes"]]


@graphql("Subscription.heartbeat")
async def _heartbeat(t: Tenants) -> None:
    from tests.ws import subscribe_once

    payload = await subscribe_once(t.http.base_url, t.key("other"), "subscription { heartbeat { accountId livemode } }")
    assert payload["data"]["heartbeat"]["accountId"] == t.other.account["id"]


# --- webhooks ------------------------------------------------------------------------------


@contextlib.contextmanager
def _private_targets():
    """Webhook URLs on 127.0.0.1 (port 9, discard: nothing listens) are allowed while the case runs."""
    from server.settings import get_settings

    settings = get_settings()
    before, settings.allow_private_webhook_urls = settings.allow_private_webhook_urls, True
    try:
        yield
    finally:
        settings.allow_private_webhook_urls = before


async def _owner_endpoint(t: Tenants) -> dict:
    """An endpoint of the owner (test mode) with one test delivery."""
    resp = await t.http.post("/v1/webhook_endpoints", headers=t.key(),
                             json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]})
    assert resp.status_code == 200, resp.text
    endpoint = resp.json()
    sent = await t.gql(t.key(), 'mutation($id: ID!) { sendTestWebhookEvent(endpointId: $id, '
                       'eventType: "customer.created") { ... on WebhookDeliveryPayload { webhookDelivery { id } } } }',
                       {"id": endpoint["id"]})
    endpoint["delivery_id"] = sent["data"]["sendTestWebhookEvent"]["webhookDelivery"]["id"]
    return endpoint


@rest("GET /v1/webhook_endpoints", "POST /v1/webhook_endpoints", "GET /v1/webhook_endpoints/{endpoint_id:str}",
      "POST /v1/webhook_endpoints/{endpoint_id:str}", "DELETE /v1/webhook_endpoints/{endpoint_id:str}")
async def _webhook_endpoints_rest(t: Tenants) -> None:
    with _private_targets():
        await _webhook_endpoints_rest_case(t)


async def _webhook_endpoints_rest_case(t: Tenants) -> None:
    endpoint = await _owner_endpoint(t)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    for _, headers in t.intruders:
        listed = await t.http.get("/v1/webhook_endpoints?limit=100", headers=headers)
        assert endpoint["id"] not in [e["id"] for e in listed.json()["data"]]
        assert (await t.http.get(path, headers=headers)).status_code == 404
        assert (await t.http.post(path, headers=headers, json={"description": "x"})).status_code == 404
        assert (await t.http.delete(path, headers=headers)).status_code == 404
        created = await t.http.post("/v1/webhook_endpoints", headers=headers,
                                    json={"url": "https://127.0.0.1:9/theirs", "enabled_events": ["*"]})
        assert created.status_code == 200, created.text
    mine = await t.http.get(path, headers=t.key())
    assert mine.status_code == 200 and mine.json()["description"] == ""
    listed = await t.http.get("/v1/webhook_endpoints", headers=t.key())
    assert [e["id"] for e in listed.json()["data"]] == [endpoint["id"]]


@graphql("Query.webhookEndpoints", "Query.webhookEndpoint", "Query.webhookDeliveries", "Query.webhookDelivery",
         "Query.webhookEventTypes", "Mutation.createWebhookEndpoint", "Mutation.updateWebhookEndpoint",
         "Mutation.deleteWebhookEndpoint", "Mutation.revealWebhookEndpointSecret",
         "Mutation.rotateWebhookEndpointSecret", "Mutation.resendWebhookDelivery", "Mutation.sendTestWebhookEvent",
         "Mutation.recoverWebhookDeliveries")
async def _webhooks_graphql(t: Tenants) -> None:
    with _private_targets():
        await _webhooks_graphql_case(t)


async def _webhooks_graphql_case(t: Tenants) -> None:
    endpoint = await _owner_endpoint(t)
    ids = {"id": endpoint["id"], "d": endpoint["delivery_id"]}
    for _, headers in t.intruders:
        seen = await t.gql(headers, "query($id: ID!, $d: ID!) { webhookEndpoints(first: 100) { nodes { id } } "
                           "webhookEndpoint(id: $id) { id } webhookDelivery(id: $d) { id } "
                           "webhookDeliveries(first: 100) { nodes { id } } webhookEventTypes }", ids)
        assert endpoint["id"] not in [n["id"] for n in seen["data"]["webhookEndpoints"]["nodes"]]
        assert seen["data"]["webhookEndpoint"] is None and seen["data"]["webhookDelivery"] is None
        assert ids["d"] not in [n["id"] for n in seen["data"]["webhookDeliveries"]["nodes"]]
        for mutation in ('updateWebhookEndpoint(id: $id, input: {description: "x"})', "deleteWebhookEndpoint(id: $id)",
                         "revealWebhookEndpointSecret(id: $id)", "rotateWebhookEndpointSecret(id: $id)",
                         "resendWebhookDelivery(id: $d)",
                         'sendTestWebhookEvent(endpointId: $id, eventType: "customer.created")',
                         'recoverWebhookDeliveries(endpointId: $id, since: "2020-01-01T00:00:00Z")'):
            args = ", ".join(f"${k}: ID!" for k in ids if f"${k})" in mutation or f"${k}," in mutation)
            result = await t.gql(headers, f"mutation({args}) {{ r: {mutation} {{ __typename }} }}",
                                 {k: v for k, v in ids.items() if f"${k}" in args})
            assert result["data"]["r"]["__typename"] == "NotFoundError", (mutation, result)
        created = await t.gql(headers, 'mutation { createWebhookEndpoint(input: {url: "https://127.0.0.1:9/theirs", '
                              'enabledEvents: ["*"]}) { __typename } }')
        assert created["data"]["createWebhookEndpoint"]["__typename"] == "WebhookEndpointSecretPayload"
    mine = await t.gql(t.key(), "{ webhookEndpoints { nodes { id description } } }")
    assert mine["data"]["webhookEndpoints"]["nodes"] == [{"id": endpoint["id"], "description": ""}]
