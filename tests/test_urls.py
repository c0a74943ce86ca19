"""Links we hand out: PAYDECK_PUBLIC_URL when set; unset, the host and port actually served.

Also: the data folder is made absolute once, against the directory Paydeck started in.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from server.settings import Settings, get_settings
from server.urls import served_url
from tests.factories import login, new_account
from tests.payments.helpers import merchant

INVITE = ("mutation($email: String!) { r: inviteMember(email: $email, role: DEVELOPER) { "
          "... on InviteMemberPayload { inviteUrl } } }")


@contextlib.contextmanager
def public_url_unset():
    settings = get_settings()
    saved = settings.public_url
    settings.public_url = None
    try:
        yield
    finally:
        settings.public_url = saved


def test_a_relative_data_folder_is_made_absolute_against_the_start_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings(data_dir=Path(".data")).data_dir == tmp_path.resolve() / ".data"
    assert Settings(data_dir=Path("/srv/paydeck")).data_dir == Path("/srv/paydeck")


@pytest.mark.parametrize(("host", "port", "url"), [("127.0.0.1", 8000, "http://127.0.0.1:8000"),
                                                   ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
                                                   ("::1", 9000, "http://[::1]:9000")])
def test_outside_a_request_links_use_the_listening_address(host, port, url):
    assert served_url(Settings(host=host, port=port, public_url=None)) == url


async def test_unset_receipt_links_follow_the_host_each_request_came_to(http, base_url):
    m = await merchant(http)
    paid = await m.paid(2500)
    with public_url_unset():
        direct = (await m.get(f"/v1/payment_intents/{paid['id']}")).json()["receipt"]
        other = (await http.get(f"/v1/payment_intents/{paid['id']}",
                                headers={**m.headers, "Host": "shop.example:8123"})).json()["receipt"]
        cached = []
        for host in ("first.example:1", "second.example:2"):  # the second read comes from the Redis cache
            resp = await http.get(f"/v1/receipts/{direct['id']}", headers={**m.headers, "Host": host})
            cached.append(resp.json()["url"])
        forged = (await http.get(f"/v1/payment_intents/{paid['id']}",
                                 headers={**m.headers, "Host": "evil_host.example"})).json()["receipt"]
    token = direct["url"].rsplit("/", 1)[1]
    assert direct["url"] == f"{base_url}/receipts/{token}"
    assert other["url"] == f"http://shop.example:8123/receipts/{token}"
    assert cached == [f"http://first.example:1/receipts/{token}", f"http://second.example:2/receipts/{token}"]
    assert forged["url"] == f"{served_url()}/receipts/{token}"  # not a host we would put in a link


async def test_set_public_url_wins_over_the_request_host(http):
    m = await merchant(http)
    paid = await m.paid(1500)
    settings = get_settings()
    saved = settings.public_url
    settings.public_url = "https://pay.example.com/"
    try:
        receipt = (await http.get(f"/v1/payment_intents/{paid['id']}",
                                  headers={**m.headers, "Host": "shop.example:8123"})).json()["receipt"]
    finally:
        settings.public_url = saved
    assert receipt["url"].startswith("https://pay.example.com/receipts/")


async def test_unset_invitation_links_follow_the_served_host(base_url):
    account = await new_account()
    owner = await login(base_url, account.user["email"])
    try:
        with public_url_unset():
            result = await owner.graphql(INVITE, {"email": "invitee@example.com"})
    finally:
        await owner.client.aclose()
    assert result["data"]["r"]["inviteUrl"].startswith(f"{base_url}/invitations/")


async def test_unset_session_cookies_are_secure_only_over_https(base_url):
    account = await new_account()
    with public_url_unset():
        owner = await login(base_url, account.user["email"])  # plain http: the cookie must still be sent back
        try:
            assert (await owner.get("/settings")).status_code == 200
        finally:
            await owner.client.aclose()
