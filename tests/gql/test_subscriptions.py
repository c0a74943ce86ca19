"""Subscriptions over graphql-transport-ws: authenticated by an API key in connection_init or the session cookie."""

from __future__ import annotations

import base64
import json

import pytest
import websockets

from server import sessions
from tests.factories import login, new_account
from tests.ws import subscribe_once

HEARTBEAT = "subscription { heartbeat(intervalSeconds: 1) { accountId livemode } }"


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


async def _init(base_url: str, payload: dict, headers: dict | None = None) -> tuple[dict | None, int | None]:
    """Send connection_init; return (first message, close code)."""
    async with websockets.connect(_ws_url(base_url), subprotocols=["graphql-transport-ws"],
                                  additional_headers=headers or {}) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            return json.loads(await ws.recv()), None
        except websockets.ConnectionClosed as closed:
            return None, closed.rcvd.code if closed.rcvd else None


@pytest.fixture(scope="module")
async def account(server):
    return await new_account(name="Live Co")


async def test_api_key_in_connection_init(base_url, account):
    payload = await subscribe_once(base_url, {"Authorization": f"Bearer {account.keys['secret_live']}"}, HEARTBEAT)
    assert payload["data"]["heartbeat"] == {"accountId": account.account["id"], "livemode": True}


async def test_api_key_as_basic_credentials_in_connection_init(base_url, account):
    """As over HTTP: the key as Basic user name with no password (Stripe's curl style) is the same key."""
    basic = "Basic " + base64.b64encode(f"{account.keys['secret_live']}:".encode()).decode()
    payload = await subscribe_once(base_url, {"Authorization": basic}, HEARTBEAT)
    assert payload["data"]["heartbeat"] == {"accountId": account.account["id"], "livemode": True}


async def test_session_cookie(base_url, account):
    session = await login(base_url, account.user["email"])
    cookie = f"{sessions.COOKIE}={session.client.cookies[sessions.COOKIE]}"
    await session.client.aclose()
    payload = await subscribe_once(base_url, {}, HEARTBEAT, cookie=cookie)
    assert payload["data"]["heartbeat"] == {"accountId": account.account["id"], "livemode": False}


async def test_no_credentials_are_rejected(base_url):
    message, code = await _init(base_url, {})
    assert message is None and code == 4403


@pytest.mark.parametrize("token", ["sk_test_nonsense", "Bearer sk_test_nonsense", "Digest abc", "Basic dXNlcjpwYXNz"])
async def test_a_bad_key_is_rejected(base_url, token):
    message, code = await _init(base_url, {"Authorization": token})
    assert message is None and code == 4403


async def test_a_revoked_key_is_rejected(base_url, account):
    from tests.factories import create_key

    session = await login(base_url, account.user["email"])
    try:
        key = await create_key(session, "secret")
        await session.graphql("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", {"id": key["id"]})
    finally:
        await session.client.aclose()
    message, code = await _init(base_url, {"apiKey": key["secret"]})
    assert message is None and code == 4403


async def test_a_cross_origin_session_subscription_is_rejected(base_url, account):
    session = await login(base_url, account.user["email"])
    cookie = f"{sessions.COOKIE}={session.client.cookies[sessions.COOKIE]}"
    await session.client.aclose()
    try:
        message, code = await _init(base_url, {}, {"Cookie": cookie, "Origin": "http://evil.example.com"})
    except websockets.InvalidStatus as refused:  # refused at the handshake already
        message, code = None, refused.response.status_code
    assert message is None and code in (403, 4403)
    same, _ = await _init(base_url, {}, {"Cookie": cookie, "Origin": base_url})
    assert same["type"] == "connection_ack"
