"""Two real app processes on one database and one Redis agree on everything a user can see.

`paydeck web` runs twice, on two ports, against the test session's PostgreSQL,
Redis and processor simulator (as compose's `web` replicas do); the session's
own app leads the event dispatcher. What one process does, the other honours:
events reach live clients of the other, a key revoked through one is refused
by the other, sessions, CSRF tokens, rate limits and idempotency keys hold
across both, and a client of a killed process resumes on the other with
Last-Event-ID, with no gap and no duplicate. Then `paydeck web --processes 2`:
two processes behind one port, one of them killed and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from server import db
from server.embedded import free_port
from server.keys import cache
from tests.events.helpers import SSEClient, WSClient, emit_event, scope_of
from tests.factories import Browser, bearer, create_key, login, new_account
from tests.processes import Paydeck, alive, wait_gone
from tests.support import eventually

REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }"


class App:
    def __init__(self, proc: Paydeck, port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"


def _start(infrastructure: dict[str, str], cwd: Path, *args: str) -> App:
    port = free_port()
    proc = Paydeck(["web", "--port", str(port), *args], cwd=cwd,
                   DATABASE_URL=infrastructure["database_url"], REDIS_URL=infrastructure["redis_url"],
                   PAYDECK_PROCESSOR_URL=os.environ["PAYDECK_PROCESSOR_URL"], PAYDECK_DATA_DIR=str(cwd / "data"))
    app = App(proc, port)
    proc.wait_ready(app.url)
    return app


@pytest.fixture(scope="module")
def pair(infrastructure, server) -> Iterator[tuple[App, App]]:
    """Two `paydeck web` processes (one process each) beside the session's app."""
    cwd = Path(tempfile.mkdtemp(prefix="paydeck-pair-"))
    apps: list[App] = []
    try:
        apps.append(_start(infrastructure, cwd, "--processes", "1"))
        apps.append(_start(infrastructure, cwd, "--processes", "1"))
        yield apps[0], apps[1]
    finally:
        for app in apps:
            app.proc.interrupt()
        shutil.rmtree(cwd, ignore_errors=True)


def _on(browser: Browser, app: App) -> Browser:
    """The same browser session, talking to another process."""
    return Browser(httpx.AsyncClient(base_url=app.url, cookies=browser.client.cookies, timeout=30), browser.csrf)


async def test_an_event_made_through_one_reaches_live_clients_of_the_other(pair):
    a, b = pair
    account = await new_account()
    browser = await login(b.url, account.user["email"])
    key = bearer(account.keys["secret_test"])
    query = 'subscription { events(types: ["customer.created"]) { id type data } }'
    try:
        async with SSEClient(browser.client, "/events/stream") as sse, WSClient(b.url, key, query) as ws:
            created: list[str] = []

            def event_of(customer_id: str) -> str | None:
                return next((e["id"] for e in ws.received if e["data"]["id"] == customer_id), None)

            async def made_through_a() -> bool:  # until both clients are live and have it
                if created and (event := event_of(created[-1])) and event in sse.ids():
                    return True
                async with httpx.AsyncClient(base_url=a.url) as client:
                    resp = await client.post("/v1/customers", json={"email": "x@example.com"}, headers=key)
                assert resp.status_code == 200, resp.text
                created.append(resp.json()["id"])
                await asyncio.sleep(0.5)
                return False

            await eventually(made_through_a, timeout=30, every=0.0)
            assert all(f["event"] == "event" for f in sse.frames)
    finally:
        await browser.client.aclose()


async def test_a_key_revoked_through_one_is_refused_by_the_other(pair):
    a, b = pair
    account = await new_account()
    owner = await login(a.url, account.user["email"])
    try:
        key = await create_key(owner, "secret")
        async with httpx.AsyncClient(base_url=b.url) as client:
            assert (await client.get("/v1/customers", headers=bearer(key["secret"]))).status_code == 200
            assert (await owner.graphql(REVOKE, {"id": key["id"]}))["data"]["revokeApiKey"]["__typename"] \
                == "ApiKeyPayload"
            refused = await client.get("/v1/customers", headers=bearer(key["secret"]))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"
    finally:
        await owner.client.aclose()


async def test_a_key_revoked_without_telling_the_caches_is_refused_by_both_within_a_second(pair):
    """The bound when the revocation's notice is lost (Redis gone between the commit and the bump): each
    process keeps a key it read for at most server.keys.cache.MAX_AGE_SECONDS. The poll allows that plus
    the requests' own time; a process that kept the key longer fails it."""
    a, b = pair
    account = await new_account()
    owner = await login(a.url, account.user["email"])
    try:
        key = await create_key(owner, "secret")
        async with httpx.AsyncClient(base_url=a.url) as on_a, httpx.AsyncClient(base_url=b.url) as on_b:
            for client in (on_a, on_b):  # both processes now hold the key
                assert (await client.get("/v1/customers", headers=bearer(key["secret"]))).status_code == 200
            await db.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key["id"])

            async def refused_by_both() -> bool:
                codes = [(await client.get("/v1/customers", headers=bearer(key["secret"]))).json()
                         .get("error", {}).get("code") for client in (on_a, on_b)]
                return codes == ["api_key_revoked", "api_key_revoked"]

            await eventually(refused_by_both, timeout=cache.MAX_AGE_SECONDS + 1.0,
                             message="a revoked key still served after the cache's bound")
    finally:
        await owner.client.aclose()


async def test_a_session_and_its_csrf_token_work_on_the_other(pair):
    a, b = pair
    account = await new_account()
    on_a = await login(a.url, account.user["email"])
    on_b = _on(on_a, b)
    try:
        assert (await on_b.get("/settings")).status_code == 200
        key = await create_key(on_b, "secret")  # a mutation with the CSRF token process A gave
        assert key["secret"].startswith("sk_test_")
        forged = await on_b.client.post("/graphql", json={"query": REVOKE, "variables": {"id": key["id"]}},
                                        headers={"X-CSRF-Token": "not-the-token"})
        assert forged.status_code == 403
        assert (await on_a.client.post("/logout", data={"_csrf": on_a.csrf})).status_code in (302, 303)
        assert (await on_b.get("/settings")).status_code in (302, 303, 401)  # logged out everywhere
    finally:
        await on_a.client.aclose()
        await on_b.client.aclose()


async def test_failed_logins_are_counted_across_processes(pair):
    """Tests run with PAYDECK_LOGIN_ATTEMPTS_PER_15MIN=5; the processes inherit it."""
    a, b = pair
    account = await new_account()
    statuses = []
    for i in range(6):
        async with httpx.AsyncClient(base_url=(a, b)[i % 2].url) as client:
            page = await client.get("/login")
            token = page.text.split('name="_csrf" value="', 1)[1].split('"', 1)[0]
            resp = await client.post("/login", data={"_csrf": token, "email": account.user["email"],
                                                     "password": "wrong password!", "next": "/"})
            statuses.append(resp.status_code)
    assert statuses == [401] * 5 + [429]


async def test_an_idempotency_key_replays_on_the_other_process(pair):
    a, b = pair
    account = await new_account()
    headers = {**bearer(account.keys["secret_test"]), "Idempotency-Key": secrets.token_hex(8)}
    body = {"email": "same@example.com"}
    async with httpx.AsyncClient(base_url=a.url) as on_a, httpx.AsyncClient(base_url=b.url) as on_b:
        first, second = await asyncio.gather(on_a.post("/v1/customers", json=body, headers=headers),
                                             on_b.post("/v1/customers", json=body, headers=headers))
        replay = await on_b.post("/v1/customers", json=body, headers=headers)
        listed = await on_a.get("/v1/customers", params={"limit": 10}, headers=bearer(account.keys["secret_test"]))
    done = [r for r in (first, second) if r.status_code == 200]
    assert done and all(r.status_code in (200, 409) for r in (first, second))
    assert replay.status_code == 200 and replay.json()["id"] == done[0].json()["id"]
    assert [c["id"] for c in listed.json()["data"]] == [done[0].json()["id"]]  # one customer, made once


async def test_a_client_of_a_killed_process_resumes_on_the_other_without_gap_or_duplicate(infrastructure, server,
                                                                                        pair):
    a, _ = pair
    doomed = _start(infrastructure, Path(tempfile.mkdtemp(prefix="paydeck-doomed-")), "--processes", "1")
    account = await new_account()
    scope = scope_of(account)
    browser = await login(doomed.url, account.user["email"])
    try:
        async with SSEClient(browser.client, "/events/stream") as first:
            seen: list[str] = []

            async def live() -> bool:
                seen.append(await emit_event(scope))
                return any(event in first.ids() for event in seen)

            await eventually(live, timeout=30, every=0.3)
            before = [await emit_event(scope) for _ in range(3)]
            await eventually(lambda: before[-1] in first.ids())
            children = doomed.proc.children()
            os.kill(doomed.proc.pid, signal.SIGKILL)  # no goodbye: the stream just stops
            assert wait_gone([psutil.Process(doomed.proc.pid), *children]) == []
            missed = [await emit_event(scope) for _ in range(5)]
        last = first.ids()[-1]
        on_a = _on(browser, a)
        async with SSEClient(on_a.client, "/events/stream", headers={"Last-Event-ID": last}) as second:
            await eventually(lambda: all(i in second.ids() for i in missed))
            after = await emit_event(scope)
            await eventually(lambda: after in second.ids())
        await on_a.client.aclose()
        assert not set(first.ids()) & set(second.ids())
        assert len(second.ids()) == len(set(second.ids()))
        assert set(first.ids()) | set(second.ids()) >= set(seen + before + missed + [after])
    finally:
        await browser.client.aclose()
        doomed.proc.kill()


def _web_processes(app: App) -> list[psutil.Process]:
    """The parent's live children started by multiprocessing's spawn (not the embedded servers)."""
    found = []
    for child in alive(psutil.Process(app.proc.pid).children()):
        with contextlib.suppress(psutil.Error):
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
    return found


async def test_several_processes_share_one_port_and_a_dead_one_is_replaced(infrastructure, server):
    cwd = Path(tempfile.mkdtemp(prefix="paydeck-pool-"))
    app = _start(infrastructure, cwd, "--processes", "2")
    try:
        web = _web_processes(app)
        assert len(web) == 2
        pids: set[int] = set()
        async with httpx.AsyncClient(base_url=app.url) as client:
            async def both_answered() -> bool:
                resp = await client.get("/metrics")
                assert resp.status_code == 200
                pids.update(int(line.split('pid="', 1)[1].split('"', 1)[0])
                            for line in resp.text.splitlines() if line.startswith("paydeck_live_connections{"))
                return pids >= {p.pid for p in web}

            await eventually(both_answered, timeout=30, every=0.2)
            web[0].kill()
            await eventually(lambda: len(_web_processes(app)) == 2 and web[0] not in _web_processes(app), timeout=60)
            for _ in range(20):  # the port answers new connections (the killed one's kept-alive ones are gone)
                async with httpx.AsyncClient(base_url=app.url) as fresh:
                    assert (await fresh.get("/healthz")).status_code == 200
        assert "web process 0" in app.proc.output or "web process 1" in app.proc.output
    finally:
        children = app.proc.children()
        assert app.proc.interrupt() == 0
        assert wait_gone(children) == []
        shutil.rmtree(cwd, ignore_errors=True)


def _connections_held(web: list[psutil.Process], port: int) -> list[int]:
    """How many of a client's connections to `port` each web process holds."""
    return [len([c for c in p.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port])
            for p in web]


async def test_a_clients_pool_of_connections_is_spread_over_the_processes(infrastructure, server):
    """A backend's keep-alive pool opened at once, and connections opened one after another, reach both
    processes: each process takes a connection at a time and leaves it to a less loaded one first
    (server.fairaccept). Left to the event loop, one process took 6 to 8 of 8 in most runs."""
    cwd = Path(tempfile.mkdtemp(prefix="paydeck-fair-"))
    app = _start(infrastructure, cwd, "--processes", "2")
    try:
        web = _web_processes(app)  # started: Paydeck.wait_ready waits for every web process to accept
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
        async with httpx.AsyncClient(base_url=app.url, limits=limits) as pool:
            answers = await asyncio.gather(*[pool.get("/healthz") for _ in range(8)])
            assert {r.status_code for r in answers} == {200}
            held = _connections_held(web, app.port)
            assert sum(held) == 8 and min(held) >= 2, held
        one_by_one = []
        for _ in range(8):
            client = httpx.AsyncClient(base_url=app.url)
            assert (await client.get("/healthz")).status_code == 200
            one_by_one.append(client)
        held = _connections_held(web, app.port)
        for client in one_by_one:
            await client.aclose()
        assert sum(held) == 8 and min(held) >= 3, held
    finally:
        assert app.proc.interrupt() == 0
        shutil.rmtree(cwd, ignore_errors=True)


async def test_an_idle_keep_alive_connection_outlives_a_client_pools_idle_limit(infrastructure, server):
    """A kept-alive connection left idle past uvicorn's default 5 s is still open and served: the client (a
    proxy's pool, an SDK's) decides when it ends, so no request is sent into a connection being closed."""
    cwd = Path(tempfile.mkdtemp(prefix="paydeck-keepalive-"))
    app = _start(infrastructure, cwd, "--processes", "1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n\r\n".encode()
        for pause in (0, 7):
            await asyncio.sleep(pause)
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            await reader.readexactly(length)
        writer.close()
    finally:
        assert app.proc.interrupt() == 0
        shutil.rmtree(cwd, ignore_errors=True)
