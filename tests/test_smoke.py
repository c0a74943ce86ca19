from tests.factories import new_account


async def test_account_endpoint_with_secret_key(http):
    account = await new_account()
    resp = await http.get("/v1/account", headers={"Authorization": f"Bearer {account.keys['secret_test']}"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"] == account.account["id"]
    assert body["livemode"] is False
    assert resp.headers["request-id"].startswith("req_")
