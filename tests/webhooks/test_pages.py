"""The dashboard and GraphQL around webhooks: permissions, secret reveal in the audit log, filters, tools."""

from __future__ import annotations

from server import db
from server.permissions import Role
from server.webhooks import service
from tests.factories import add_member, login
from tests.support import eventually
from tests.webhooks.helpers import deliveries, emit
from tests.webhooks.receiver import receiver


class TestPermissions:
    async def test_roles_without_manage_webhooks_are_refused(self, base_url, shop):
        email, _ = await add_member(shop, Role.ANALYST)
        analyst = await login(base_url, email)
        assert (await analyst.get("/webhooks")).status_code == 403
        denied = await analyst.graphql("{ webhookEndpoints { nodes { id } } }")
        assert denied["errors"][0]["extensions"]["code"] == "permission_denied"
        await analyst.client.aclose()


class TestSecretReveal:
    async def test_reveal_shows_the_secret_and_is_audited(self, base_url, shop, allow_private):
        ep = await service.create_endpoint(shop.ctx, "http://127.0.0.1:9/hooks", ["*"])
        email, _ = await add_member(shop, Role.DEVELOPER)
        developer = await login(base_url, email)
        page = await developer.post(f"/webhooks/{ep['id']}/reveal")
        assert page.status_code == 200 and ep["secret"] in page.text
        rows = await db.fetch("SELECT action, actor_user_id FROM audit_log WHERE target_id = $1 ORDER BY id", ep["id"])
        assert [r["action"] for r in rows] == ["webhook_endpoint.created", "webhook_endpoint.secret_revealed"]
        rotated = await developer.post(f"/webhooks/{ep['id']}/rotate", {"overlap_hours": "24"})
        assert rotated.status_code == 200 and "old secret signs until" in rotated.text
        assert ep["secret"] not in (await developer.get(f"/webhooks/{ep['id']}")).text
        await developer.client.aclose()


class TestDeliveriesView:
    async def test_filters_and_tools_on_the_endpoint_page(self, base_url, shop, allow_private):
        async with receiver() as rec:
            rec.reply = lambda r: (500 if "customer.updated" in r.body else 200, {}, "")
            ep = await service.create_endpoint(shop.ctx, rec.url, ["customer.*"])
            ok_event = await emit(shop, "customer.created")
            bad_event = await emit(shop, "customer.updated")
            await rec.wait_for(2)
            await eventually(lambda: _attempted(ep["id"]), message="both attempts recorded")
            owner = await login(base_url, shop.user["email"])

            # the failed delivery is pending (retrying) first; stop its retries by disabling and re-enabling
            disabled = await owner.post(f"/webhooks/{ep['id']}/status", {"status": "disabled"})
            assert disabled.status_code == 303
            page = await owner.get(disabled.headers["location"])
            assert 'data-testid="disabled-banner"' in page.text and "Endpoint disabled." in page.text
            await owner.post(f"/webhooks/{ep['id']}/status", {"status": "enabled"})
            skipped = await owner.get(f"/webhooks/{ep['id']}?status=skipped")
            assert bad_event in skipped.text and ok_event not in skipped.text
            by_type = await owner.get(f"/webhooks/{ep['id']}?event_type=customer.created")
            assert ok_event in by_type.text and bad_event not in by_type.text
            by_id = await owner.get(f"/webhooks/{ep['id']}?event_id={bad_event}")
            assert bad_event in by_id.text and ok_event not in by_id.text
            # recover: the skipped one, and only it, goes out again
            recovered = await owner.post(f"/webhooks/{ep['id']}/recover", {"since": "2000-01-01T00:00"})
            assert recovered.headers["location"].endswith("done=recovered:1")
            third = (await rec.wait_for(3))[2]
            assert bad_event in third.body
            await owner.client.aclose()


async def _attempted(endpoint_id: str) -> bool:
    rows = await deliveries(endpoint_id)
    return len(rows) == 2 and all(r["attempt_count"] == 1 and r["locked_until"] is None for r in rows)


class TestSignatureScheme:
    async def test_graphql_and_the_dashboard_form_choose_how_deliveries_are_signed(self, base_url, shop,
                                                                                  allow_private):
        owner = await login(base_url, shop.user["email"])
        made = await owner.graphql(
            'mutation { createWebhookEndpoint(input: {url: "http://127.0.0.1:9/gql", enabledEvents: ["*"], '
            'signatureScheme: "stripe"}) { ... on WebhookEndpointSecretPayload { webhookEndpoint { id '
            "signatureScheme } } ... on ValidationError { field message } } }")
        endpoint = made["data"]["createWebhookEndpoint"]["webhookEndpoint"]
        assert endpoint["signatureScheme"] == "stripe"
        changed = await owner.graphql(
            'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {signatureScheme: "standard"}) { ... on '
            "WebhookEndpointPayload { webhookEndpoint { signatureScheme } } } }", {"id": endpoint["id"]})
        assert changed["data"]["updateWebhookEndpoint"]["webhookEndpoint"]["signatureScheme"] == "standard"
        refused = await owner.graphql(
            'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {signatureScheme: "hmac"}) { __typename '
            "... on ValidationError { field } } }", {"id": endpoint["id"]})
        assert refused["data"]["updateWebhookEndpoint"] == {"__typename": "ValidationError",
                                                            "field": "signature_scheme"}

        page = await owner.get("/webhooks")
        assert 'name="signature_scheme"' in page.text
        posted = await owner.post("/webhooks", {"url": "http://127.0.0.1:9/form", "enabled_events": "*",
                                                "signature_scheme": "stripe"})
        assert posted.status_code == 200, posted.text
        rows = await db.fetch("SELECT id, signature_scheme FROM webhook_endpoints WHERE url = $1",
                              "http://127.0.0.1:9/form")
        assert [r["signature_scheme"] for r in rows] == ["stripe"]
        detail = await owner.get(f"/webhooks/{rows[0]['id']}")
        assert "Stripe-Signature header" in detail.text
        bad = await owner.post("/webhooks", {"url": "http://127.0.0.1:9/bad", "enabled_events": "*",
                                             "signature_scheme": "hmac"})
        assert bad.status_code == 400 and "signature_scheme must be standard or stripe" in bad.text
        await owner.client.aclose()
