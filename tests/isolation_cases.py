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

from server import db
from server.accounts.service import NewAccount
from tests.support import eventually


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
# --- API request logs ----------------------------------------------------------------------


async def _logged_owner_request(t: Tenants) -> str:
    """A request made with the owner's test key, flushed to the log; returns its request id."""
    from server.apilogs import writer

    resp = await t.http.get("/v1/account", headers=t.key("owner"), params={"marker": "isolation-probe"})
    assert resp.status_code == 200
    request_id = resp.headers["Request-Id"]

    async def stored() -> bool:  # the periodic flush may have written it already: ask the table, not the count
        await writer.flush_all()
        return await db.fetchrow("SELECT 1 FROM api_request_logs WHERE id = $1", request_id) is not None

    await eventually(stored, message=f"request {request_id} in the log")
    return request_id


@rest("GET /v1/request_logs", "GET /v1/request_logs/{log_id:str}")
async def _request_logs_rest(t: Tenants) -> None:
    request_id = await _logged_owner_request(t)
    mine = await t.http.get(f"/v1/request_logs/{request_id}", headers=t.key("owner"))
    assert mine.status_code == 200 and mine.json()["id"] == request_id
    for _, headers in t.intruders:
        one = await t.http.get(f"/v1/request_logs/{request_id}", headers=headers)
        assert one.status_code == 404, one.text
        for query in (request_id, "isolation probe", "' OR 1=1 --", "*", ""):
            listed = await t.http.get("/v1/request_logs", headers=headers, params={"query": query, "limit": 100})
            assert listed.status_code == 200, listed.text
            assert request_id not in [r["id"] for r in listed.json()["data"]]
        crafted = await t.http.get("/v1/request_logs", headers=headers,
                                   params={"path": "/v1/account", "object_id": t.owner.account["id"]})
        assert request_id not in [r["id"] for r in crafted.json()["data"]]


@graphql("Query.apiRequests", "Query.apiRequest", "Query.apiRequestSeries", "Query.apiRequestSearchStatus")
async def _request_logs_graphql(t: Tenants) -> None:
    request_id = await _logged_owner_request(t)
    query = """query($id: ID!, $q: String) {
      apiRequest(id: $id) { id }
      apiRequests(query: $q, first: 100) { nodes { id } }
      apiRequestSeries { points { requests } }
      apiRequestSearchStatus { engine }
    }"""
    mine = await t.gql(t.key("owner"), query, {"id": request_id, "q": request_id})
    assert mine["data"]["apiRequest"]["id"] == request_id
    assert sum(p["requests"] for p in mine["data"]["apiRequestSeries"]["points"]) >= 1
    for _, headers in t.intruders:
        for q in (request_id, "isolation probe", "account_id", None):
            theirs = await t.gql(headers, query, {"id": request_id, "q": q})
            assert theirs["data"]["apiRequest"] is None
            assert request_id not in [n["id"] for n in theirs["data"]["apiRequests"]["nodes"]]
    other = await t.other_session.graphql("query($id: ID!) { apiRequest(id: $id) { id } "
                                          "apiRequests(first: 100) { nodes { id } } }", {"id": request_id})
    assert other["data"]["apiRequest"] is None
    assert request_id not in [n["id"] for n in other["data"]["apiRequests"]["nodes"]]
    # The series counts only the caller's own account and mode: as many as its own list holds.
    from server.apilogs import writer

    await writer.flush_all()
    live = await t.gql(t.key("owner", "live"), "{ apiRequestSeries { points { requests } } "
                                               "apiRequests(first: 100) { nodes { id livemode } } }")
    nodes = live["data"]["apiRequests"]["nodes"]
    assert all(n["livemode"] for n in nodes)
    assert sum(p["requests"] for p in live["data"]["apiRequestSeries"]["points"]) == len(nodes)


# --- customers, credits, balances, transfers, FX rates -------------------------------------


async def _owner_customer_with_money(t: Tenants) -> dict[str, Any]:
    if "customer" not in t.objects:
        headers = t.key("owner")
        c = (await t.http.post("/v1/customers", json={"name": "Victim", "email": "v@example.com"},
                               headers=headers)).json()
        d = (await t.http.post("/v1/customers", json={"name": "Peer"}, headers=headers)).json()
        await t.http.post(f"/v1/customers/{c['id']}/credits",
                          json={"amount": 500, "currency": "USD", "transaction_id": "iso_seed"}, headers=headers)
        tr = (await t.http.post("/v1/transfers", json={"from_customer": c["id"], "to_customer": d["id"],
                                                       "amount": 100, "currency": "USD"}, headers=headers)).json()
        t.objects.update(customer=c, peer=d, transfer=tr)
    return t.objects


async def _owner_unchanged(t: Tenants) -> None:
    objs = t.objects
    c = (await t.http.get(f"/v1/customers/{objs['customer']['id']}", headers=t.key("owner"))).json()
    assert c["name"] == "Victim" and c["status"] == "active"
    bal = (await t.http.get(f"/v1/customers/{objs['customer']['id']}/balance", headers=t.key("owner"))).json()
    assert bal["available"] == [{"amount": 400, "currency": "USD"}]


@rest("GET /v1/customers/{customer_id:str}", "POST /v1/customers/{customer_id:str}",
      "DELETE /v1/customers/{customer_id:str}", "POST /v1/customers/{customer_id:str}/credits",
      "GET /v1/customers/{customer_id:str}/balance", "GET /v1/customers/{customer_id:str}/history")
async def _customer_routes(t: Tenants) -> None:
    objs = await _owner_customer_with_money(t)
    cid = objs["customer"]["id"]
    for _, headers in t.intruders:
        for method, path, body in (("GET", f"/v1/customers/{cid}", None),
                                   ("POST", f"/v1/customers/{cid}", {"name": "Hacked"}),
                                   ("DELETE", f"/v1/customers/{cid}", None),
                                   ("POST", f"/v1/customers/{cid}/credits",
                                    {"amount": 1, "currency": "USD", "transaction_id": "iso_x"}),
                                   ("GET", f"/v1/customers/{cid}/balance", None),
                                   ("GET", f"/v1/customers/{cid}/history", None)):
            resp = await t.http.request(method, path, json=body, headers=headers)
            assert resp.status_code == 404, (method, path, resp.text)
    await _owner_unchanged(t)


@rest("GET /v1/customers", "POST /v1/customers")
async def _customer_list(t: Tenants) -> None:
    objs = await _owner_customer_with_money(t)
    for _, headers in t.intruders:
        made = (await t.http.post("/v1/customers", json={"name": "Mine"}, headers=headers)).json()
        listed = (await t.http.get("/v1/customers", params={"limit": 100}, headers=headers)).json()
        ids = [c["id"] for c in listed["data"]]
        assert objs["customer"]["id"] not in ids and made["id"] in ids
    owner = (await t.http.get("/v1/customers", params={"limit": 100}, headers=t.key("owner"))).json()
    assert {c["name"] for c in owner["data"]} == {"Victim", "Peer"}


@rest("GET /v1/transfers", "GET /v1/transfers/{transfer_id:str}", "POST /v1/transfers")
async def _transfer_routes(t: Tenants) -> None:
    objs = await _owner_customer_with_money(t)
    for _, headers in t.intruders:
        assert (await t.http.get(f"/v1/transfers/{objs['transfer']['id']}", headers=headers)).status_code == 404
        listed = (await t.http.get("/v1/transfers", headers=headers)).json()
        assert objs["transfer"]["id"] not in [x["id"] for x in listed["data"]]
        stolen = await t.http.post("/v1/transfers", json={"from_customer": objs["customer"]["id"],
                                                          "to_customer": objs["peer"]["id"], "amount": 1,
                                                          "currency": "USD"}, headers=headers)
        assert stolen.status_code == 404
    await _owner_unchanged(t)


@graphql("Query.customers", "Query.customer", "Query.transfers", "Query.transfer", "Mutation.createCustomer",
         "Mutation.updateCustomer", "Mutation.closeCustomer", "Mutation.creditCustomer", "Mutation.createTransfer")
async def _customer_fields(t: Tenants) -> None:
    objs = await _owner_customer_with_money(t)
    cid, tid = objs["customer"]["id"], objs["transfer"]["id"]
    for _, headers in t.intruders:
        seen = await t.gql(headers, "query($c: ID!, $t: ID!) { customer(id: $c) { id } transfer(id: $t) { id } "
                                    "customers(first: 100) { nodes { id } } transfers(first: 100) { nodes { id } } }",
                           {"c": cid, "t": tid})
        data = seen["data"]
        assert data["customer"] is None and data["transfer"] is None
        assert cid not in [n["id"] for n in data["customers"]["nodes"]]
        assert tid not in [n["id"] for n in data["transfers"]["nodes"]]
        for mutation in ('updateCustomer(id: $c, input: {name: "Hacked"})', "closeCustomer(id: $c)",
                         'creditCustomer(input: {customerId: $c, amount: 1, currency: "USD", transactionId: "iso_g"})',
                         'createTransfer(input: {fromCustomer: $c, toCustomer: $c, amount: 1, currency: "USD", '
                         'toCurrency: "EUR"})'):
            result = await t.gql(headers, f"mutation($c: String!) {{ r: {mutation} {{ __typename }} }}"
                                 if "input: {customerId" in mutation or "fromCustomer" in mutation else
                                 f"mutation($c: ID!) {{ r: {mutation} {{ __typename }} }}", {"c": cid})
            assert result["data"]["r"]["__typename"] in ("NotFoundError", "ValidationError"), result
        made = await t.gql(headers, 'mutation { createCustomer(input: {name: "Mine"}) '
                                    '{ ... on CustomerPayload { customer { id } } } }')
        assert made["data"]["createCustomer"]["customer"]["id"] != cid
    await _owner_unchanged(t)


@graphql("Query.fxRates", "Mutation.setFxRate", "Mutation.deleteFxRate")
async def _fx_rates(t: Tenants) -> None:
    set_rate = 'mutation { setFxRate(input: {base: "USD", quote: "EUR", rate: "0.9"}) { __typename } }'
    assert (await t.owner_session.graphql(set_rate))["data"]["setFxRate"]["__typename"] == "FxRatePayload"
    other = await t.other_session.graphql("{ fxRates { base quote } }")
    assert other["data"]["fxRates"] == []
    gone = await t.other_session.graphql('mutation { deleteFxRate(base: "USD", quote: "EUR") { __typename } }')
    assert gone["data"]["deleteFxRate"]["__typename"] == "NotFoundError"
    await t.other_session.graphql(set_rate.replace("0.9", "5"))
    live = await t.gql(t.key("owner", "live"), "{ fxRates { base } }")
    assert live["data"]["fxRates"] == []
    mine = await t.owner_session.graphql("{ fxRates { rate } }")
    assert mine["data"]["fxRates"] == [{"rate": "0.9"}]


@graphql("Query.ledgerBalances")
async def _ledger_balances(t: Tenants) -> None:
    await _owner_customer_with_money(t)
    mine = await t.gql(t.key("owner"), "{ ledgerBalances { purpose amount } }")
    assert {"purpose": "funding", "amount": -500} in mine["data"]["ledgerBalances"]
    for _, headers in t.intruders:
        theirs = await t.gql(headers, "{ ledgerBalances { purpose amount } }")
        assert theirs["data"]["ledgerBalances"] == []


# --- payments ------------------------------------------------------------------------------

PAY_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


async def _owner_payments(t: Tenants) -> dict[str, Any]:
    """A paid intent (with a refund and receipt), an authorized one and a new one, in the owner's test mode."""
    if "payments" in t.objects:
        return t.objects["payments"]
    h = t.key("owner")

    async def intent(**body: Any) -> dict[str, Any]:
        resp = await t.http.post("/v1/payment_intents", json={"amount": 10_000, "currency": "usd", **body}, headers=h)
        return resp.json()

    paid = await intent()
    paid = (await t.http.post(f"/v1/payment_intents/{paid['id']}/confirm", json={"card": PAY_CARD}, headers=h)).json()
    held = await intent(capture_method="manual")
    await t.http.post(f"/v1/payment_intents/{held['id']}/confirm", json={"card": PAY_CARD}, headers=h)
    fresh = await intent()
    refund = (await t.http.post("/v1/refunds", json={"payment_intent": paid["id"], "amount": 100}, headers=h)).json()
    t.objects["payments"] = {"paid": paid["id"], "held": held["id"], "fresh": fresh["id"], "refund": refund["id"],
                             "receipt": paid["receipt"]["id"]}
    return t.objects["payments"]


async def _owner_payments_unchanged(t: Tenants, p: dict[str, Any]) -> None:
    h = t.key("owner")
    expected = {"paid": ("succeeded", 100), "held": ("requires_capture", 0), "fresh": ("requires_payment_method", 0)}
    for name, (status, refunded) in expected.items():
        body = (await t.http.get(f"/v1/payment_intents/{p[name]}", headers=h)).json()
        assert (body["status"], body["amount_refunded"]) == (status, refunded), body


@rest("GET /v1/payment_intents", "GET /v1/payment_intents/{pi_id:str}", "POST /v1/payment_intents",
      "POST /v1/payment_intents/{pi_id:str}/confirm", "POST /v1/payment_intents/{pi_id:str}/capture",
      "POST /v1/payment_intents/{pi_id:str}/cancel", "POST /v1/refunds", "GET /v1/refunds/{refund_id:str}",
      "GET /v1/receipts/{receipt_id:str}")
async def _payments_rest(t: Tenants) -> None:
    p = await _owner_payments(t)
    for _, headers in t.intruders:
        listed = (await t.http.get("/v1/payment_intents", params={"limit": 100}, headers=headers)).json()
        assert not {p["paid"], p["held"], p["fresh"]} & {x["id"] for x in listed["data"]}
        for pi_id in (p["paid"], p["held"], p["fresh"]):
            assert (await t.http.get(f"/v1/payment_intents/{pi_id}", headers=headers)).status_code == 404
        for action, pi_id, body in (("confirm", p["fresh"], {"card": PAY_CARD}), ("capture", p["held"], {}),
                                    ("cancel", p["fresh"], {}), ("cancel", p["held"], {})):
            resp = await t.http.post(f"/v1/payment_intents/{pi_id}/{action}", json=body, headers=headers)
            assert resp.status_code == 404, resp.text
        refund = await t.http.post("/v1/refunds", json={"payment_intent": p["paid"]}, headers=headers)
        assert refund.status_code == 404
        assert (await t.http.get(f"/v1/refunds/{p['refund']}", headers=headers)).status_code == 404
        assert (await t.http.get(f"/v1/receipts/{p['receipt']}", headers=headers)).status_code == 404
        made = await t.http.post("/v1/payment_intents", json={"amount": 5, "currency": "usd"}, headers=headers)
        assert made.status_code == 200
        mine = (await t.http.get("/v1/payment_intents", params={"limit": 100}, headers=t.key("owner"))).json()
        assert made.json()["id"] not in {x["id"] for x in mine["data"]}
    await _owner_payments_unchanged(t, p)


@rest("GET /v1/balance")
async def _balance_rest(t: Tenants) -> None:
    await _owner_payments(t)
    mine = (await t.http.get("/v1/balance", headers=t.key("owner"))).json()
    assert mine["available"] == [{"amount": 10_000 - 320 - 100, "currency": "USD"}]
    for _, headers in t.intruders:
        assert (await t.http.get("/v1/balance", headers=headers)).json()["available"] == []


@graphql("Query.paymentIntents", "Query.paymentIntent", "Query.refund", "Query.receipt", "Query.balance",
         "Mutation.createPaymentIntent", "Mutation.confirmPaymentIntent", "Mutation.capturePaymentIntent",
         "Mutation.cancelPaymentIntent", "Mutation.createRefund")
async def _payments_graphql(t: Tenants) -> None:
    p = await _owner_payments(t)
    card = "{number: \"4242424242424242\", expMonth: 12, expYear: 2034, cvc: \"123\"}"
    for _, headers in t.intruders:
        data = (await t.gql(headers, "query($p: ID!, $r: ID!, $c: ID!) { paymentIntent(id: $p) { id } "
                                     "refund(id: $r) { id } receipt(id: $c) { id } balance { amount } "
                                     "paymentIntents(first: 100) { nodes { id } } }",
                            {"p": p["paid"], "r": p["refund"], "c": p["receipt"]}))["data"]
        assert data["paymentIntent"] is None and data["refund"] is None and data["receipt"] is None
        assert data["balance"] == [] and p["paid"] not in [n["id"] for n in data["paymentIntents"]["nodes"]]
        for mutation, pi_id in ((f"confirmPaymentIntent(id: $p, card: {card})", p["fresh"]),
                                ("capturePaymentIntent(id: $p)", p["held"]),
                                ("cancelPaymentIntent(id: $p)", p["fresh"]),
                                ("createRefund(input: {paymentIntent: $p})", p["paid"])):
            var = "String!" if "input" in mutation else "ID!"
            result = await t.gql(headers, f"mutation($p: {var}) {{ r: {mutation} {{ __typename }} }}", {"p": pi_id})
            assert result["data"]["r"]["__typename"] == "NotFoundError", result
        made = await t.gql(headers, 'mutation { createPaymentIntent(input: {amount: 5, currency: "usd"}) '
                                    '{ ... on PaymentIntentPayload { paymentIntent { id } } } }')
        assert made["data"]["createPaymentIntent"]["paymentIntent"]["id"]
    await _owner_payments_unchanged(t, p)


# --- events --------------------------------------------------------------------------------


async def _owner_event(t: Tenants, type: str = "customer.created", object_type: str = "customer") -> str:
    from tests.events.helpers import emit_event, scope_of

    return await emit_event(scope_of(t.owner), type, object_type)


@rest("GET /v1/events", "GET /v1/events/{event_id:str}")
async def _events_rest(t: Tenants) -> None:
    victim = await _owner_event(t)
    for _, headers in t.intruders:
        listed = await t.http.get("/v1/events", params={"limit": 100}, headers=headers)
        assert listed.status_code == 200
        assert victim not in [e["id"] for e in listed.json()["data"]]
        one = await t.http.get(f"/v1/events/{victim}", headers=headers)
        assert one.status_code == 404
    mine = await t.http.get(f"/v1/events/{victim}", headers=t.key("owner"))
    assert mine.status_code == 200


@graphql("Query.events", "Query.event")
async def _events_graphql(t: Tenants) -> None:
    victim = await _owner_event(t)
    for _, headers in t.intruders:
        data = await t.gql(headers, "query($id: ID!) { events(first: 100) { nodes { id } } event(id: $id) { id } }",
                           {"id": victim})
        assert victim not in [n["id"] for n in data["data"]["events"]["nodes"]]
        assert data["data"]["event"] is None
    seen = await t.other_session.graphql("{ events(first: 100) { nodes { id } } }")
    assert victim not in [n["id"] for n in seen["data"]["events"]["nodes"]]


@graphql("Subscription.events", "Subscription.paymentUpdated")
async def _events_subscriptions(t: Tenants) -> None:
    from tests.events.helpers import WSClient, emit_event, nudging, scope_of

    owner_ids: list[str] = []
    for (name, headers), livemode in zip(t.intruders, (False, True), strict=True):
        intruder_scope = scope_of(t.other if name == "other account" else t.owner, livemode)
        for query in ("subscription { events { id objectId livemode } }",
                      "subscription { paymentUpdated { id objectId livemode } }"):
            async with WSClient(t.http.base_url, headers, query) as ws:
                own: list[str] = []

                async def nudge(ws=ws, own=own, intruder_scope=intruder_scope):
                    owner_ids.append(await _owner_event(t, "payment_intent.succeeded", "payment_intent"))
                    own.append(await emit_event(intruder_scope, "payment_intent.succeeded", "payment_intent"))

                await eventually(nudging(lambda ws=ws, own=own: any(i in own for i in ws.ids()), nudge))
                assert not set(ws.ids()) & set(owner_ids), f"{name} saw the owner's test-mode events"
                assert all(e["livemode"] is livemode for e in ws.received)


# --- the Stripe-compatible API (/stripe/v1) ------------------------------------------------------

STRIPE_CARD = {"payment_method_data[card][number]": "4242424242424242", "payment_method_data[card][exp_month]": "12",
               "payment_method_data[card][exp_year]": "2040", "payment_method_data[card][cvc]": "123"}


async def _stripe_ids(t: Tenants, path: str, headers: dict[str, str]) -> list[str]:
    resp = await t.http.get(f"/stripe/v1/{path}", params={"limit": "100"}, headers=headers)
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["data"]]


async def _stripe_missing(t: Tenants, method: str, path: str, data: dict | None = None) -> None:
    for who, headers in t.intruders:
        resp = await t.http.request(method, f"/stripe/v1/{path}", data=data, headers=headers)
        assert resp.status_code == 404, (who, method, path, resp.text)
        assert resp.json()["error"]["type"] == "invalid_request_error"


@rest("GET /stripe/v1/customers", "POST /stripe/v1/customers", "GET /stripe/v1/customers/search",
      "GET /stripe/v1/customers/{customer_id:str}", "POST /stripe/v1/customers/{customer_id:str}",
      "DELETE /stripe/v1/customers/{customer_id:str}")
async def _stripe_customers(t: Tenants) -> None:
    made = await t.http.post("/stripe/v1/customers", data={"email": "iso-stripe@example.com"}, headers=t.key())
    cus = made.json()["id"]
    for method, data in (("GET", None), ("POST", {"name": "Mallory"}), ("DELETE", None)):
        await _stripe_missing(t, method, f"customers/{cus}", data)
    for _, headers in t.intruders:
        assert cus not in await _stripe_ids(t, "customers", headers)
        found = await t.http.get("/stripe/v1/customers/search", params={"query": "email:'iso-stripe@example.com'"},
                                 headers=headers)
        assert found.status_code == 200 and cus not in [c["id"] for c in found.json()["data"]]
        theirs = await t.http.post("/stripe/v1/customers", data={"email": "iso-stripe@example.com"}, headers=headers)
        assert theirs.status_code == 200
    assert await _stripe_ids(t, "customers", t.key()) == [cus]
    assert (await t.http.get(f"/stripe/v1/customers/{cus}", headers=t.key())).json()["name"] is None


@rest("GET /stripe/v1/payment_intents", "POST /stripe/v1/payment_intents", "GET /stripe/v1/payment_intents/{pi_id:str}",
      "POST /stripe/v1/payment_intents/{pi_id:str}", "POST /stripe/v1/payment_intents/{pi_id:str}/confirm",
      "POST /stripe/v1/payment_intents/{pi_id:str}/capture", "POST /stripe/v1/payment_intents/{pi_id:str}/cancel")
async def _stripe_payment_intents(t: Tenants) -> None:
    made = await t.http.post("/stripe/v1/payment_intents", data={"amount": "1000", "currency": "usd"}, headers=t.key())
    pi = made.json()["id"]
    for method, path, data in (("GET", "", None), ("POST", "", {"description": "x"}), ("POST", "/confirm", STRIPE_CARD),
                               ("POST", "/capture", None), ("POST", "/cancel", None)):
        await _stripe_missing(t, method, f"payment_intents/{pi}{path}", data)
    for _, headers in t.intruders:
        assert pi not in await _stripe_ids(t, "payment_intents", headers)
        theirs = await t.http.post("/stripe/v1/payment_intents", data={"amount": "5", "currency": "usd"},
                                   headers=headers)
        assert theirs.status_code == 200
    after = (await t.http.get(f"/stripe/v1/payment_intents/{pi}", headers=t.key())).json()
    assert (after["status"], after["description"]) == ("requires_payment_method", None)
    assert await _stripe_ids(t, "payment_intents", t.key()) == [pi]


@rest("GET /stripe/v1/refunds", "POST /stripe/v1/refunds", "GET /stripe/v1/refunds/{refund_id:str}",
      "GET /stripe/v1/balance", "GET /stripe/v1/balance_transactions")
async def _stripe_refunds_and_balance(t: Tenants) -> None:
    paid = await t.http.post("/stripe/v1/payment_intents", headers=t.key(), data={
        "amount": "1000", "currency": "usd", "confirm": "true", "payment_method": "pm_card_visa"})
    pi = paid.json()["id"]
    refund = (await t.http.post("/stripe/v1/refunds", data={"payment_intent": pi, "amount": "100"},
                                headers=t.key())).json()["id"]
    await _stripe_missing(t, "GET", f"refunds/{refund}")
    await _stripe_missing(t, "POST", "refunds", {"payment_intent": pi})
    owner_moves = await _stripe_ids(t, "balance_transactions", t.key())
    assert len(owner_moves) == 2
    for _, headers in t.intruders:
        assert refund not in await _stripe_ids(t, "refunds", headers)
        assert not set(owner_moves) & set(await _stripe_ids(t, "balance_transactions", headers))
        balance = await t.http.get("/stripe/v1/balance", headers=headers)
        assert balance.status_code == 200 and all(a["amount"] == 0 for a in balance.json()["available"])
    assert await _stripe_ids(t, "refunds", t.key()) == [refund]


@rest("GET /stripe/v1/events", "GET /stripe/v1/events/{event_id:str}")
async def _stripe_events(t: Tenants) -> None:
    await t.http.post("/stripe/v1/customers", data={"email": "iso-event@example.com"}, headers=t.key())
    events = await _stripe_ids(t, "events", t.key())
    assert events
    await _stripe_missing(t, "GET", f"events/{events[0]}")
    for _, headers in t.intruders:
        assert not set(events) & set(await _stripe_ids(t, "events", headers))


@rest("GET /stripe/v1/webhook_endpoints", "POST /stripe/v1/webhook_endpoints",
      "GET /stripe/v1/webhook_endpoints/{endpoint_id:str}", "POST /stripe/v1/webhook_endpoints/{endpoint_id:str}",
      "DELETE /stripe/v1/webhook_endpoints/{endpoint_id:str}")
async def _stripe_webhook_endpoints(t: Tenants) -> None:
    with _private_targets():
        await _stripe_webhook_endpoints_case(t)


async def _stripe_webhook_endpoints_case(t: Tenants) -> None:
    made = await t.http.post("/stripe/v1/webhook_endpoints", headers=t.key(), data={
        "url": "http://127.0.0.1:9/stripe", "enabled_events[0]": "*"})
    assert made.status_code == 200, made.text
    endpoint = made.json()["id"]
    for method, data in (("GET", None), ("POST", {"disabled": "true"}), ("DELETE", None)):
        await _stripe_missing(t, method, f"webhook_endpoints/{endpoint}", data)
    for _, headers in t.intruders:
        assert endpoint not in await _stripe_ids(t, "webhook_endpoints", headers)
    after = (await t.http.get(f"/stripe/v1/webhook_endpoints/{endpoint}", headers=t.key())).json()
    assert after["status"] == "enabled"
    assert await _stripe_ids(t, "webhook_endpoints", t.key()) == [endpoint]


# --- disputes, evidence files, transfer claims ---------------------------------------------

ISO_PDF = b"%PDF-1.4\n% isolation\n%%EOF\n"


async def _owner_dispute(t: Tenants) -> dict[str, Any]:
    """A chargeback with a draft (one file attached) and a second paid payment not disputed, owner's test mode."""
    if "dispute" not in t.objects:
        h = t.key("owner")

        async def paid() -> dict[str, Any]:
            pi = (await t.http.post("/v1/payment_intents", json={"amount": 5_000, "currency": "usd"}, headers=h)).json()
            return (await t.http.post(f"/v1/payment_intents/{pi['id']}/confirm", json={"card": PAY_CARD},
                                      headers=h)).json()

        disputed, spare = await paid(), await paid()
        file = (await t.http.post("/v1/files", data={"purpose": "dispute_evidence"},
                                  files={"file": ("iso.pdf", ISO_PDF)}, headers=h)).json()
        dp = (await t.http.post(f"/v1/test_helpers/payment_intents/{disputed['id']}/dispute", json={},
                                headers=h)).json()
        await t.http.post(f"/v1/disputes/{dp['id']}", json={"evidence": {"customer_name": "Owner's",
                                                                         "receipt": file["id"]}}, headers=h)
        t.objects.update(dispute=dp, spare=spare, file=file)
    return t.objects


async def _owner_dispute_unchanged(t: Tenants) -> None:
    h = t.key("owner")
    dp = (await t.http.get(f"/v1/disputes/{t.objects['dispute']['id']}", headers=h)).json()
    assert dp["status"] == "needs_response" and dp["evidence"]["customer_name"] == "Owner's", dp
    spare = (await t.http.get(f"/v1/payment_intents/{t.objects['spare']['id']}", headers=h)).json()
    assert spare["disputed"] is False


@rest("GET /v1/disputes", "GET /v1/disputes/{dispute_id:str}", "POST /v1/disputes/{dispute_id:str}",
      "POST /v1/disputes/{dispute_id:str}/close", "POST /v1/test_helpers/payment_intents/{pi_id:str}/dispute")
async def _disputes_rest(t: Tenants) -> None:
    objs = await _owner_dispute(t)
    victim = objs["dispute"]["id"]
    for name, headers in t.intruders:
        listed = (await t.http.get("/v1/disputes", params={"limit": 100}, headers=headers)).json()
        assert victim not in [d["id"] for d in listed["data"]]
        assert (await t.http.get(f"/v1/disputes/{victim}", headers=headers)).status_code == 404
        for path, body in ((f"/v1/disputes/{victim}", {"evidence": {"customer_name": "intruder"}, "submit": True}),
                           (f"/v1/disputes/{victim}/close", {})):
            assert (await t.http.post(path, json=body, headers=headers)).status_code == 404
        helper = await t.http.post(f"/v1/test_helpers/payment_intents/{objs['spare']['id']}/dispute", json={},
                                   headers=headers)
        assert helper.status_code == (400 if name == "other mode" else 404), helper.text  # live: test mode only
    await _owner_dispute_unchanged(t)


@rest("GET /stripe/v1/disputes", "GET /stripe/v1/disputes/{dispute_id:str}",
      "POST /stripe/v1/disputes/{dispute_id:str}", "POST /stripe/v1/disputes/{dispute_id:str}/close")
async def _stripe_disputes(t: Tenants) -> None:
    objs = await _owner_dispute(t)
    victim = objs["dispute"]["id"]
    for method, path, data in (("GET", "", None), ("POST", "", {"evidence[customer_name]": "intruder",
                                                                 "submit": "true"}), ("POST", "/close", None)):
        await _stripe_missing(t, method, f"disputes/{victim}{path}", data)
    for _, headers in t.intruders:
        assert victim not in await _stripe_ids(t, "disputes", headers)
        by_intent = await t.http.get("/stripe/v1/disputes", headers=headers,
                                     params={"payment_intent": objs["dispute"]["payment_intent"]})
        assert by_intent.status_code == 200 and by_intent.json()["data"] == []
    owner = (await t.http.get(f"/stripe/v1/disputes/{victim}", headers=t.key())).json()
    for _, headers in t.intruders:
        by_charge = await t.http.get("/stripe/v1/disputes", params={"charge": owner["charge"]}, headers=headers)
        assert by_charge.status_code == 200 and by_charge.json()["data"] == []
    assert victim in await _stripe_ids(t, "disputes", t.key())
    await _owner_dispute_unchanged(t)


@graphql("Query.disputes", "Query.dispute", "Mutation.updateDispute", "Mutation.closeDispute",
         "Mutation.createTestDispute")
async def _disputes_graphql(t: Tenants) -> None:
    objs = await _owner_dispute(t)
    victim = objs["dispute"]["id"]
    for name, headers in t.intruders:
        data = (await t.gql(headers, "query($id: ID!) { dispute(id: $id) { id } disputes(first: 100) "
                                     "{ nodes { id } } }", {"id": victim}))["data"]
        assert data["dispute"] is None and victim not in [n["id"] for n in data["disputes"]["nodes"]]
        for mutation in ('updateDispute(id: $id, input: {submit: true, evidence: [{name: "customer_name", '
                         'value: "intruder"}]})', "closeDispute(id: $id)"):
            result = await t.gql(headers, f"mutation($id: ID!) {{ r: {mutation} {{ __typename }} }}", {"id": victim})
            assert result["data"]["r"]["__typename"] == "NotFoundError", result
        made = await t.gql(headers, "mutation($p: String!) { r: createTestDispute(input: {paymentIntent: $p}) "
                                    "{ __typename } }", {"p": objs["spare"]["id"]})
        expected = "ValidationError" if name == "other mode" else "NotFoundError"
        assert made["data"]["r"]["__typename"] == expected, made
    seen = await t.other_session.graphql("{ disputes(first: 100) { nodes { id } } }")
    assert victim not in [n["id"] for n in seen["data"]["disputes"]["nodes"]]
    await _owner_dispute_unchanged(t)


@rest("POST /v1/files", "GET /v1/files", "GET /v1/files/{file_id:str}", "GET /v1/files/{file_id:str}/contents")
async def _files_rest(t: Tenants) -> None:
    objs = await _owner_dispute(t)
    victim = objs["file"]["id"]
    for _, headers in t.intruders:
        listed = (await t.http.get("/v1/files", params={"limit": 100}, headers=headers)).json()
        assert victim not in [f["id"] for f in listed["data"]]
        for path in (f"/v1/files/{victim}", f"/v1/files/{victim}/contents"):
            assert (await t.http.get(path, headers=headers)).status_code == 404
        made = await t.http.post("/v1/files", data={"purpose": "dispute_evidence"},
                                 files={"file": ("theirs.pdf", ISO_PDF)}, headers=headers)
        assert made.status_code == 200
        # Their file cannot be attached to the owner's evidence either: it does not exist in the owner's scope.
        used = await t.http.post(f"/v1/disputes/{objs['dispute']['id']}",
                                 json={"evidence": {"receipt": made.json()["id"]}}, headers=t.key("owner"))
        assert used.status_code == 400 and used.json()["error"]["param"] == "evidence[receipt]"
    mine = await t.http.get(f"/v1/files/{victim}/contents", headers=t.key("owner"))
    assert mine.content == ISO_PDF


@graphql("Query.files", "Query.file")
async def _files_graphql(t: Tenants) -> None:
    objs = await _owner_dispute(t)
    victim = objs["file"]["id"]
    for _, headers in t.intruders:
        data = (await t.gql(headers, "query($id: ID!) { file(id: $id) { id } files(first: 100) { nodes { id } } }",
                            {"id": victim}))["data"]
        assert data["file"] is None and victim not in [n["id"] for n in data["files"]["nodes"]]


async def _owner_claim(t: Tenants) -> dict[str, Any]:
    """An inquiry on the owner's transfer (escalated: its amount is held on the receiver)."""
    objs = await _owner_customer_with_money(t)
    if "claim" not in objs:
        h = t.key("owner")
        claim = (await t.http.post("/v1/transfer_claims", json={"transfer": objs["transfer"]["id"],
                                                                "message": "owner's"}, headers=h)).json()
        await t.http.post(f"/v1/transfer_claims/{claim['id']}/escalate", headers=h)
        objs["claim"] = claim
    return objs


async def _owner_claim_unchanged(t: Tenants) -> None:
    claim = (await t.http.get(f"/v1/transfer_claims/{t.objects['claim']['id']}", headers=t.key("owner"))).json()
    assert claim["status"] == "claim" and [m["body"] for m in claim["messages"]] == ["owner's"], claim
    assert claim["hold"]["amount"] == 100


@rest("POST /v1/transfer_claims", "GET /v1/transfer_claims", "GET /v1/transfer_claims/{claim_id:str}",
      "POST /v1/transfer_claims/{claim_id:str}/messages", "POST /v1/transfer_claims/{claim_id:str}/escalate",
      "POST /v1/transfer_claims/{claim_id:str}/decide", "POST /v1/transfer_claims/{claim_id:str}/appeal",
      "POST /v1/transfer_claims/{claim_id:str}/withdraw")
async def _claims_rest(t: Tenants) -> None:
    objs = await _owner_claim(t)
    victim = objs["claim"]["id"]
    for _, headers in t.intruders:
        listed = (await t.http.get("/v1/transfer_claims", params={"limit": 100}, headers=headers)).json()
        assert victim not in [c["id"] for c in listed["data"]]
        assert (await t.http.get(f"/v1/transfer_claims/{victim}", headers=headers)).status_code == 404
        for action, body in (("messages", {"author": "sender", "body": "intruder"}), ("escalate", {}),
                             ("decide", {"decision": "refund"}), ("appeal", {"by": "sender"}), ("withdraw", {})):
            resp = await t.http.post(f"/v1/transfer_claims/{victim}/{action}", json=body, headers=headers)
            assert resp.status_code == 404, (action, resp.text)
        opened = await t.http.post("/v1/transfer_claims", json={"transfer": objs["transfer"]["id"]}, headers=headers)
        assert opened.status_code == 404 and opened.json()["error"]["param"] == "transfer"
    await _owner_claim_unchanged(t)


@graphql("Query.transferClaims", "Query.transferClaim", "Mutation.openTransferClaim",
         "Mutation.addTransferClaimMessage", "Mutation.escalateTransferClaim", "Mutation.decideTransferClaim",
         "Mutation.appealTransferClaim", "Mutation.withdrawTransferClaim")
async def _claims_graphql(t: Tenants) -> None:
    objs = await _owner_claim(t)
    victim = objs["claim"]["id"]
    for _, headers in t.intruders:
        data = (await t.gql(headers, "query($id: ID!) { transferClaim(id: $id) { id } transferClaims(first: 100) "
                                     "{ nodes { id } } }", {"id": victim}))["data"]
        assert data["transferClaim"] is None and victim not in [n["id"] for n in data["transferClaims"]["nodes"]]
        for mutation in ('addTransferClaimMessage(id: $id, author: "sender", body: "intruder")',
                         "escalateTransferClaim(id: $id)", 'decideTransferClaim(id: $id, decision: "refund")',
                         'appealTransferClaim(id: $id, by: "sender")', "withdrawTransferClaim(id: $id)"):
            result = await t.gql(headers, f"mutation($id: ID!) {{ r: {mutation} {{ __typename }} }}", {"id": victim})
            assert result["data"]["r"]["__typename"] == "NotFoundError", (mutation, result)
        opened = await t.gql(headers, "mutation($t: String!) { r: openTransferClaim(input: {transfer: $t}) "
                                      "{ __typename } }", {"t": objs["transfer"]["id"]})
        assert opened["data"]["r"]["__typename"] == "NotFoundError", opened
    await _owner_claim_unchanged(t)


# --- benchmarks ------------------------------------------------------------------------------


async def _released_month(t: Tenants) -> str:
    """A month where the owner, the other account and 22 more sellers had payments, released (small k)."""
    if "benchmark_month" in t.objects:
        return t.objects["benchmark_month"]
    from datetime import timedelta

    from server.analytics import backfill
    from server.benchmarks import periods
    from server.context import Scope
    from tests.benchmarks.helpers import Mix, fresh_month, payments, release, sellers

    month = fresh_month()
    await sellers(month, [Mix(succeeded=10 + i, abandoned=1 + i % 5) for i in range(22)])
    for account, mix in ((t.owner, Mix(succeeded=20, failed=1, abandoned=2)),
                         (t.other, Mix(succeeded=17, failed=2, abandoned=4, amount=7_700))):
        await backfill.write_payments(Scope(account.account["id"], False), payments(month, mix),
                                      now=periods.end(month) + timedelta(days=40))
    await release(month)
    t.objects["benchmark_month"] = periods.label(month)
    return t.objects["benchmark_month"]


OWNER_CONVERSION, OTHER_CONVERSION = 20 / 23, 17 / 23


def _conversion(metrics: list[dict]) -> float | None:
    return next(m for m in metrics if m["metric"] == "conversion_rate")["value"]


@rest("GET /v1/benchmarks")
async def _benchmarks_rest(t: Tenants) -> None:
    period = await _released_month(t)
    mine = await t.http.get("/v1/benchmarks", params={"period": period}, headers=t.key())
    assert mine.status_code == 200, mine.text
    assert _conversion(mine.json()["metrics"]) == OWNER_CONVERSION
    assert str(OTHER_CONVERSION) not in mine.text, "the other seller's value in the owner's benchmarks"
    theirs = await t.http.get("/v1/benchmarks", params={"period": period}, headers=t.key("other"))
    assert _conversion(theirs.json()["metrics"]) == OTHER_CONVERSION and str(OWNER_CONVERSION) not in theirs.text
    live = await t.http.get("/v1/benchmarks", params={"period": period}, headers=t.key("owner", "live"))
    assert live.status_code == 404, "test-mode releases in live mode"


@rest("GET /v1/benchmarks/privacy_budget")
async def _privacy_budget_rest(t: Tenants) -> None:
    period = await _released_month(t)
    mine = (await t.http.get("/v1/benchmarks/privacy_budget", params={"period": period}, headers=t.key())).json()
    theirs = (await t.http.get("/v1/benchmarks/privacy_budget", params={"period": period},
                               headers=t.key("other"))).json()
    assert mine["entries"] and theirs["entries"]
    assert not {e["id"] for e in mine["entries"]} & {e["id"] for e in theirs["entries"]}
    live = (await t.http.get("/v1/benchmarks/privacy_budget", params={"period": period},
                             headers=t.key("owner", "live"))).json()
    assert live["entries"] == [] and live["spent"] == 0


@graphql("Query.benchmarks")
async def _benchmarks_graphql(t: Tenants) -> None:
    period = await _released_month(t)
    query = "query($p: String) { benchmarks(period: $p) { cohort { label } metrics { metric value } } }"
    mine = (await t.gql(t.key(), query, {"p": period}))["data"]["benchmarks"]
    assert _conversion(mine["metrics"]) == OWNER_CONVERSION
    theirs = (await t.gql(t.key("other"), query, {"p": period}))["data"]["benchmarks"]
    assert _conversion(theirs["metrics"]) == OTHER_CONVERSION
    assert OWNER_CONVERSION not in [m["value"] for m in theirs["metrics"]]
    assert (await t.gql(t.key("owner", "live"), query, {"p": period}))["data"]["benchmarks"] is None


@graphql("Query.privacyBudget")
async def _privacy_budget_graphql(t: Tenants) -> None:
    period = await _released_month(t)
    query = "query($p: String) { privacyBudget(period: $p) { spent entries { id release } } }"
    mine = (await t.gql(t.key(), query, {"p": period}))["data"]["privacyBudget"]
    theirs = (await t.gql(t.key("other"), query, {"p": period}))["data"]["privacyBudget"]
    assert mine["entries"] and not {e["id"] for e in mine["entries"]} & {e["id"] for e in theirs["entries"]}
    live = (await t.gql(t.key("owner", "live"), query, {"p": period}))["data"]["privacyBudget"]
    assert live == {"spent": 0.0, "entries": []}


@graphql("Query.benchmarkPolicy")
async def _benchmark_policy(t: Tenants) -> None:
    # Published parameters, the same for every account and mode: no tenant's data in them.
    query = "{ benchmarkPolicy { kQuartiles monthlyEpsilonCap metrics { metric lower upper candidates } } }"
    answers = [(await t.gql(headers, query))["data"]["benchmarkPolicy"]
               for headers in (t.key(), *[h for _, h in t.intruders])]
    assert answers[0] == answers[1] == answers[2] and answers[0]["kQuartiles"] == 500


# Analytics and reporting, and Radar, keep their cases in their own modules (registered on import).
from tests import isolation_analytics, isolation_radar  # noqa: E402, F401
