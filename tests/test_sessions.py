"""Dashboard sessions: cookies, rotation at login, logout, CSRF, timeouts, login rate limit."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import httpx
import pytest

from server import sessions
from server.infra import redis
from server.settings import Settings
from server.urls import secure_cookies
from tests.factories import PASSWORD, csrf_from, login, new_account


def _set_cookie(resp: httpx.Response, name: str) -> str:
    headers = [h for h in resp.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, resp.headers.get_list("set-cookie")
    return headers[0]


def _attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")][1:]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def _redis_key(session_id: str) -> str:
    return "session:" + hashlib.sha256(session_id.encode()).hexdigest()


async def _login_response(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={"_csrf": csrf_from(page.text), "email": email, "password": password,
                                             "next": "/"})


@pytest.fixture
async def account():
    return await new_account(name="Session Co")


class TestCookies:
    async def test_session_cookie_attributes(self, base_url, account):
        async with httpx.AsyncClient(base_url=base_url) as client:
            resp = await _login_response(client, account.user["email"])
        assert resp.status_code == 303
        attrs = _attributes(_set_cookie(resp, sessions.COOKIE))
        assert "httponly" in attrs
        assert attrs["samesite"].lower() == "lax"
        assert attrs["path"] == "/"
        # The test server's public URL is plain-http 127.0.0.1: Secure is relaxed there only.
        assert "secure" not in attrs

    async def test_pre_login_csrf_cookie_attributes(self, base_url):
        async with httpx.AsyncClient(base_url=base_url) as client:
            resp = await client.get("/login")
        attrs = _attributes(_set_cookie(resp, sessions.CSRF_COOKIE))
        assert "httponly" in attrs and attrs["samesite"].lower() == "lax" and attrs["path"] == "/"

    @pytest.mark.parametrize(("public_url", "secure"), [
        ("https://pay.example.com", True),
        ("http://pay.example.com", True),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://localhost", False),
        ("http://[::1]:8000", False),
        ("https://localhost:8443", True),
        ("http://localhost.example.com", True),
        ("http://127.0.0.1.example.com", True),
        ("http://localhostile.net", True),
    ])
    def test_secure_is_relaxed_only_for_plain_http_localhost(self, public_url, secure):
        assert secure_cookies(Settings(public_url=public_url, cookie_secure=None)) is secure

    def test_explicit_setting_wins(self):
        assert secure_cookies(Settings(public_url="http://127.0.0.1:8000", cookie_secure=True)) is True
        assert secure_cookies(Settings(public_url="https://pay.example.com", cookie_secure=False)) is False


class TestLoginAndLogout:
    async def test_session_id_is_rotated_at_login(self, base_url, account):
        async with httpx.AsyncClient(base_url=base_url) as client:
            # A session id planted before login (fixation) is not the one after.
            client.cookies.set(sessions.COOKIE, "planted-by-an-attacker")
            first = await _login_response(client, account.user["email"])
            first_id = first.cookies[sessions.COOKIE]
            assert first_id != "planted-by-an-attacker"
            # Logging in again over a live session issues a new id and ends the old one.
            second = await _login_response(client, account.user["email"])
            second_id = second.cookies[sessions.COOKIE]
        assert second_id != first_id
        assert await redis().get(_redis_key(first_id)) is None
        assert await redis().get(_redis_key(second_id)) is not None

    async def test_wrong_password_sets_no_session(self, base_url, account):
        async with httpx.AsyncClient(base_url=base_url) as client:
            resp = await _login_response(client, account.user["email"], "not the password")
        assert resp.status_code == 401
        assert "incorrect email or password" in resp.text
        assert sessions.COOKIE not in resp.cookies

    async def test_logout_invalidates_the_session_on_the_server(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        old_cookie = browser.client.cookies[sessions.COOKIE]

        resp = await browser.post("/logout")

        assert resp.status_code == 303 and resp.headers["location"] == "/login"
        await browser.client.aclose()
        async with httpx.AsyncClient(base_url=base_url, cookies={sessions.COOKIE: old_cookie}) as replay:
            page = await replay.get("/settings")
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
            api = await replay.post("/graphql", json={"query": "{ viewer { userId } }"})
            assert "errors" in api.json() and api.json()["data"] is None

    async def test_anonymous_pages_redirect_to_login_with_next(self, http):
        resp = await http.get("/team")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=/team"

    @pytest.mark.parametrize("next_url", ["https://evil.example.com/", "//evil.example.com/", "/\\evil"])
    async def test_login_never_redirects_off_site(self, base_url, account, next_url):
        async with httpx.AsyncClient(base_url=base_url) as client:
            page = await client.get("/login")
            resp = await client.post("/login", data={"_csrf": csrf_from(page.text), "email": account.user["email"],
                                                     "password": PASSWORD, "next": next_url})
        assert resp.status_code == 303 and resp.headers["location"] == "/"


class TestCsrf:
    async def test_page_post_without_token_is_refused(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        try:
            for data in ({}, {"_csrf": "forged-token-forged-token"}):
                resp = await browser.client.post("/settings", data={"name": "Hijacked", **data})
                assert resp.status_code == 403
                assert "CSRF" in resp.text
            settings = await browser.graphql("{ account { name } }")
            assert settings["data"]["account"]["name"] == "Session Co"
        finally:
            await browser.client.aclose()

    async def test_graphql_post_with_a_session_needs_the_token(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        try:
            mutation = 'mutation { updateAccountSettings(input: {name: "Hijacked"}) { __typename } }'
            resp = await browser.client.post("/graphql", json={"query": mutation})
            assert resp.status_code == 403
            assert "CSRF" in resp.text
            resp = await browser.client.post("/graphql", json={"query": "{ viewer { userId } }"},
                                             headers={"X-CSRF-Token": "wrong"})
            assert resp.status_code == 403
            ok = await browser.graphql("{ account { name } }")
            assert ok["data"]["account"]["name"] == "Session Co"
        finally:
            await browser.client.aclose()

    async def test_a_non_ascii_token_is_refused_not_a_crash(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        try:
            form = await browser.client.post("/settings", data={"_csrf": "jeton-é", "name": "x"})
            header = await browser.client.post("/graphql", json={"query": "{ viewer { kind } }"},
                                               headers={"X-CSRF-Token": "jeton-é".encode("latin-1")})
            anonymous = await browser.client.post("/login", data={"_csrf": "jeton-é", "email": "a@b.cd",
                                                                  "password": "whatever"})
            as_file = await browser.client.post("/settings", data={"name": "x"}, files={"_csrf": ("t", b"x")})
        finally:
            await browser.client.aclose()
        assert (form.status_code, header.status_code, anonymous.status_code) == (403, 403, 403)
        assert as_file.status_code == 403

    async def test_login_form_needs_the_token(self, base_url, account):
        async with httpx.AsyncClient(base_url=base_url) as client:
            await client.get("/login")
            resp = await client.post("/login", data={"email": account.user["email"], "password": PASSWORD})
        assert resp.status_code == 403
        assert sessions.COOKIE not in resp.cookies

    async def test_an_api_key_needs_no_csrf_token(self, http, account):
        resp = await http.post("/graphql", json={"query": "{ viewer { kind } }"},
                               headers={"Authorization": f"Bearer {account.keys['secret_test']}"})
        assert resp.status_code == 200 and resp.json()["data"]["viewer"]["kind"] == "api_key"


class TestTimeouts:
    async def _session(self, base_url, account):
        browser = await login(base_url, account.user["email"])
        return browser, _redis_key(browser.client.cookies[sessions.COOKIE])

    async def test_idle_timeout(self, base_url, account):
        browser, key = await self._session(base_url, account)
        try:
            ttl = await redis().ttl(key)
            assert 0 < ttl <= 120 * 60  # the idle period (default 120 minutes)
            await redis().pexpire(key, 1)  # the idle period passes
            await asyncio.sleep(0.01)
            assert not await redis().exists(key)
            resp = await browser.get("/settings")
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
        finally:
            await browser.client.aclose()

    async def test_activity_extends_the_idle_window(self, base_url, account):
        browser, key = await self._session(base_url, account)
        try:
            data = json.loads(await redis().get(key))
            data["last_seen"] -= 60
            await redis().set(key, json.dumps(data), ex=60)
            assert (await browser.get("/settings")).status_code == 200
            assert await redis().ttl(key) > 60
        finally:
            await browser.client.aclose()

    async def test_absolute_timeout_whatever_the_activity(self, base_url, account):
        browser, key = await self._session(base_url, account)
        try:
            data = json.loads(await redis().get(key))
            data["created_at"] -= 24 * 3600 + 1  # the absolute lifetime (default 24 hours) has passed
            data["last_seen"] = time.time()
            await redis().set(key, json.dumps(data), ex=3600)
            resp = await browser.get("/settings")
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
            assert await redis().get(key) is None
        finally:
            await browser.client.aclose()


async def test_successful_logins_do_not_count_against_the_limit(base_url, account):
    async with httpx.AsyncClient(base_url=base_url) as client:
        statuses = [(await _login_response(client, account.user["email"])).status_code for _ in range(7)]
    assert statuses == [303] * 7


async def test_login_attempts_are_rate_limited(base_url, account):
    """Tests run with PAYDECK_LOGIN_ATTEMPTS_PER_15MIN=5 (per email)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        statuses = [(await _login_response(client, account.user["email"], "wrong password!")).status_code
                    for _ in range(5)]
        assert statuses == [401] * 5
        limited = await _login_response(client, account.user["email"], "wrong password!")
        assert limited.status_code == 429
        assert "too many failed login attempts" in limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 900
        # Even the right password waits now: guessing cannot go on.
        right = await _login_response(client, account.user["email"])
        assert right.status_code == 429
        assert sessions.COOKIE not in right.cookies
        # Other emails are not affected.
        other = await new_account()
        assert (await _login_response(client, other.user["email"])).status_code == 303
