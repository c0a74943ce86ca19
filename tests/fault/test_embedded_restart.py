"""kill -9 embedded PostgreSQL or Redis under a running `paydeck run`: it is started again and the app
recovers by itself. Meanwhile API calls answer 503 `service_unavailable` with Retry-After, never 500;
`/healthz` fails while a server cannot be started again; the log says so once."""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from server.embedded import free_port
from tests.processes import Paydeck, run

pytestmark = pytest.mark.slow
FAILURES_WHILE_DOWN = 100  # requests made while PostgreSQL cannot return (every one a 503)
LOG_LINES_AT_MOST = 40  # what the whole outage may write: far fewer lines than failed requests


@pytest.fixture
def app(run_dir) -> Iterator[tuple[Paydeck, str, dict[str, str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PAYDECK_DATA_DIR": str(run_dir / "data"), "PAYDECK_API_RATE_LIMIT_PER_SECOND": "1000"}
    proc = Paydeck(["run", "--port", str(port)], cwd=run_dir, **env)
    try:
        proc.wait_ready(base)
        created = run(["account", "create", "--email", "owner@example.com", "--password", "a-long-password",
                       "--json"], cwd=run_dir, **env)
        assert created.returncode == 0, created.stderr
        key = created.stdout.split('"secret_test_key": "')[1].split('"')[0]
        yield proc, base, {"Authorization": f"Bearer {key}"}
    finally:
        proc.interrupt()


def _create(base: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base}/v1/customers", json={"email": "c@example.com"}, headers=headers, timeout=30)


def _answers_until_back(base: str, headers: dict[str, str], seconds: float = 60) -> list[httpx.Response]:
    """Call the API (reads, writes, GraphQL) until it succeeds again; every answer on the way."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers = [httpx.get(f"{base}/v1/account", headers=headers, timeout=30), _create(base, headers),
                   httpx.post(f"{base}/graphql", json={"query": "{ account { name } }"}, headers=headers, timeout=30)]
        seen += answers
        if all(a.status_code == 200 for a in answers) and httpx.get(f"{base}/readyz").status_code == 200:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"not back after {seconds}s: {[a.status_code for a in seen[-6:]]}")


def _assert_only_ok_or_503(answers: list[httpx.Response]) -> None:
    for answer in answers:
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 503:
            assert answer.headers["retry-after"].isdigit()
            error = answer.json()["error"] if "error" in answer.json() else answer.json()["errors"][0]["extensions"]
            assert error["code"] == "service_unavailable"


@contextlib.contextmanager
def port_taken(port: int, app: Paydeck, server: str) -> Iterator[None]:
    """Kill the server and take its port so that it cannot come back: we listen there and hang up on every
    connection, as a server that is down would refuse it."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the killed server's TIME_WAIT sockets
    for _ in range(100):
        with contextlib.suppress(StopIteration, psutil.NoSuchProcess):
            app.child(server).kill()  # the first one, or the one the supervisor was quick enough to start
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
            break
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE
            time.sleep(0.05)
    else:
        raise AssertionError("could not take the port")
    holder.settimeout(0.2)
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = holder.accept()
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
                conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        holder.close()


@pytest.mark.parametrize("server", ["postgres", "redis-server"])
def test_a_killed_embedded_server_is_restarted_and_the_app_recovers(app, server):
    proc, base, headers = app
    victim = proc.child(server)
    port = next(c.laddr.port for c in victim.net_connections("tcp") if c.status == psutil.CONN_LISTEN)

    victim.kill()
    answers = _answers_until_back(base, headers)

    _assert_only_ok_or_503(answers)
    back = proc.child(server)
    assert back.pid != victim.pid and port in {c.laddr.port for c in back.net_connections("tcp")}
    assert _create(base, headers).status_code == 200
    name = {"postgres": "PostgreSQL", "redis-server": "Redis"}[server]
    time.sleep(1)  # let the log lines of the recovery arrive
    assert proc.output.count(f"embedded {name} (pid {victim.pid}) stopped (killed by SIGKILL)") == 1
    assert proc.output.count(f"embedded {name} is back on port {port}") == 1


def test_while_postgres_cannot_return_the_api_says_503_and_healthz_fails_then_it_recovers(app):
    proc, base, headers = app
    victim = proc.child("postgres")
    port = next(c.laddr.port for c in victim.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
    lines_before = len(proc.lines)

    with port_taken(port, proc, "postgres"):
        deadline = time.monotonic() + 60
        answers = []
        while (health := httpx.get(f"{base}/healthz")).status_code == 200:
            answers += [httpx.get(f"{base}/v1/account", headers=headers), _create(base, headers)]
            assert time.monotonic() < deadline, "healthz never failed"
            time.sleep(0.05)
        assert health.status_code == 503 and "PostgreSQL" in health.json()["failed"]
        down = [httpx.get(f"{base}/v1/account", headers=headers), _create(base, headers),
                httpx.post(f"{base}/graphql", json={"query": "{ account { name } }"}, headers=headers)]
        assert [a.status_code for a in down] == [503, 503, 503]
        assert httpx.get(f"{base}/readyz").status_code == 503
        # A fixed number of failures while it cannot return, however fast or slow the machine: each is a
        # 503, and all of them together leave a few log lines (checked below), not one per request.
        failed = [answer for _ in range(FAILURES_WHILE_DOWN // 2)
                  for answer in (httpx.get(f"{base}/v1/account", headers=headers), _create(base, headers))]
        assert {a.status_code for a in failed} == {503}
    _assert_only_ok_or_503(answers + down + failed)

    _assert_only_ok_or_503(_answers_until_back(base, headers))
    assert httpx.get(f"{base}/healthz").status_code == 200
    time.sleep(1)
    during = "".join(proc.lines[lines_before:])
    assert "Traceback" not in during
    assert during.count("stopped (killed by SIGKILL)") == 1 and during.count("could not be started again") == 1
    assert len(during.splitlines()) < LOG_LINES_AT_MOST < FAILURES_WHILE_DOWN, during  # many failures, a few lines
