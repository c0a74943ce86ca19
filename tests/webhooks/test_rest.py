"""REST /v1/webhook_endpoints: the JSON shapes and the validation messages."""

from __future__ import annotations


def bearer(account, mode: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {account.keys['secret_' + mode]}"}


class TestWebhookEndpointsRest:
    async def test_create_update_list_delete(self, http, shop, allow_private):
        created = await http.post("/v1/webhook_endpoints", headers=bearer(shop),
                                  json={"url": "http://127.0.0.1:9/a", "enabled_events": ["customer.*"],
                                        "description": "mine", "ordered": True})
        assert created.status_code == 200, created.text
        body = created.json()
        assert body["object"] == "webhook_endpoint" and body["secret"].startswith("whsec_")
        assert body["ordered"] is True and body["status"] == "enabled" and body["livemode"] is False
        path = f"/v1/webhook_endpoints/{body['id']}"
        updated = await http.post(path, headers=bearer(shop), json={"status": "disabled", "enabled_events": ["*"]})
        assert updated.json()["status"] == "disabled" and updated.json()["enabled_events"] == ["*"]
        assert "secret" not in (await http.get(path, headers=bearer(shop))).json()
        listed = await http.get("/v1/webhook_endpoints", headers=bearer(shop))
        assert [e["id"] for e in listed.json()["data"]] == [body["id"]]
        assert (await http.delete(path, headers=bearer(shop))).json() == {"id": body["id"],
                                                                          "object": "webhook_endpoint",
                                                                          "deleted": True}
        assert (await http.get(path, headers=bearer(shop))).status_code == 404

    async def test_bad_input_is_a_400_naming_the_field(self, http, shop):
        cases = [({"enabled_events": ["*"]}, "url"),
                 ({"url": "https://93.184.215.14/x"}, "enabled_events"),
                 ({"url": "https://93.184.215.14/x", "enabled_events": []}, "enabled_events"),
                 ({"url": "https://93.184.215.14/x", "enabled_events": ["nope"]}, "enabled_events"),
                 ({"url": "ftp://93.184.215.14/x", "enabled_events": ["*"]}, "url")]
        for payload, param in cases:
            resp = await http.post("/v1/webhook_endpoints", headers=bearer(shop), json=payload)
            assert resp.status_code == 400, (payload, resp.text)
            assert resp.json()["error"]["param"] == param, (payload, resp.text)
        unknown = await http.post("/v1/webhook_endpoints", headers=bearer(shop),
                                  json={"url": "https://93.184.215.14/x", "enabled_events": ["*"], "colour": "red"})
        assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["message"]
