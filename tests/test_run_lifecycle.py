"""`paydeck run`: starts everything, Ctrl-C leaves no process behind, data survives a restart;
SIGTERM fails readiness before the listener closes; the defaults (a relative `.data`) work; other
commands attach to a running app's servers; a second run refuses; a killed run's servers are stale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from server.embedded import free_port
from tests.processes import Paydeck, run, runtime, wait_gone

BIN = Path(sys.executable).parent / "paydeck"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"PAYDECK_DATA_DIR": str(data_dir), **extra})
    return env


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("paydeck did not become ready")


def _start(data_dir: Path, port: int, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN), *args, "--port", str(port)], env=_env(data_dir, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.slow
def test_ctrl_c_stops_everything_and_data_survives(run_dir):
    port = free_port()
    proc = _start(run_dir, port, "run", "--demo", "--processes", "2")  # web processes beside the demo writer
    demo_writer: list[psutil.Process] = []
    web: list[psutil.Process] = []
    try:
        _wait_ready(port, proc)
        demo = json.loads((run_dir / "demo.json").read_text())
        children = psutil.Process(proc.pid).children(recursive=True)
        assert {c.name() for c in children} >= {"postgres", "redis-server"}
        resp = httpx.get(f"http://127.0.0.1:{port}/v1/account",
                         headers={"Authorization": f"Bearer {demo['secret_test_key']}"})
        assert resp.status_code == 200
        deadline = time.monotonic() + 30  # on a busy machine the writer may start a moment after readiness
        while True:
            demo_writer = [c for c in children if "--data-only" in c.cmdline()]
            web = [c for c in children if "multiprocessing.spawn" in " ".join(c.cmdline())]
            if (demo_writer and web) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
            children = psutil.Process(proc.pid).children(recursive=True)
        assert demo_writer and web, "the first run writes the demo's history beside its web processes"
    finally:
        proc.send_signal(signal.SIGINT)
        # The demo's history writer is stopped first: it holds locks the web processes' last API-log flush
        # waits on (stopped after them, Ctrl-C on a first run took the flush's whole grace and dropped logs).
        psutil.wait_procs(demo_writer, timeout=30)
        web_outlived_it = any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in web)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert web_outlived_it, "the web processes ended before the demo writer"
    assert "not written within" not in out, out
    time.sleep(0.5)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left behind: {alive}"

    # Again: the same demo account and key still work.
    proc = _start(run_dir, port, "run", "--demo")
    try:
        _wait_ready(port, proc)
        assert json.loads((run_dir / "demo.json").read_text())["account_id"] == demo["account_id"]
        resp = httpx.get(f"http://127.0.0.1:{port}/v1/account",
                         headers={"Authorization": f"Bearer {demo['secret_test_key']}"})
        assert resp.json()["id"] == demo["account_id"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


@pytest.mark.slow
def test_sigterm_fails_readiness_first_then_exits(run_dir):
    port = free_port()
    proc = _start(run_dir, port, "run", PAYDECK_DRAIN_SECONDS="2")
    try:
        _wait_ready(port, proc)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        assert ready.status_code == 503
        assert ready.json()["checks"]["shutdown"] == "draining"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    finally:
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out


@pytest.mark.slow
def test_the_defaults_work_from_a_relative_data_folder_and_other_commands_run_beside(run_dir):
    """`make run` as a newcomer has it: no settings, so the data folder is `.data` in the current directory."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = Paydeck(["run", "--port", str(port)], cwd=run_dir)
    try:
        app.wait_ready(base)
        data = run_dir / ".data"
        owner = runtime(data)
        assert owner["pid"] == app.pid and owner["command"] == "paydeck run" and owner["app_url"] == base
        postmaster = app.child("postgres")

        created = run(["account", "create", "--email", "beside@example.com", "--password", "a-long-password",
                       "--json"], cwd=run_dir)
        assert created.returncode == 0, created.stderr
        key = json.loads(created.stdout)["secret_test_key"]
        for command in (["migrate"], ["search", "rebuild"]):
            done = run(command, cwd=run_dir)
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"using the servers of `paydeck run` (pid {app.pid})" in done.stdout + done.stderr

        assert httpx.get(f"{base}/readyz").status_code == 200
        assert postmaster.is_running() and app.child("postgres").pid == postmaster.pid  # nobody restarted it
        assert httpx.get(f"{base}/v1/account", headers={"Authorization": f"Bearer {key}"}).status_code == 200

        second = run(["run", "--port", str(free_port())], cwd=run_dir, timeout=60)
        assert second.returncode == 1
        assert f"already running on the data folder {data}" in second.stderr and f"(pid {app.pid})" in second.stderr
        assert httpx.get(f"{base}/readyz").status_code == 200
        children = app.children()
    finally:
        app.interrupt()
    assert app.proc.returncode == 0, app.output
    assert wait_gone(children) == []
    assert not (data / "runtime.json").exists()

    again = Paydeck(["run", "--port", str(port)], cwd=run_dir)  # the same data, found again
    try:
        again.wait_ready(base)
        assert httpx.get(f"{base}/v1/account", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    finally:
        again.interrupt()


@pytest.mark.slow
def test_a_run_killed_outright_is_stale_and_the_next_run_takes_over(run_dir):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = Paydeck(["run", "--port", str(port)], cwd=run_dir, PAYDECK_DATA_DIR="state")
    try:
        app.wait_ready(base)
        children = app.children()
        os.kill(app.pid, signal.SIGKILL)
        app.proc.wait(30)
        assert wait_gone(children) == []  # its servers die with it
        assert runtime(run_dir / "state")["pid"] == app.pid  # left behind, naming a process that is gone
    finally:
        app.kill()
    again = Paydeck(["run", "--port", str(port)], cwd=run_dir, PAYDECK_DATA_DIR="state")
    try:
        again.wait_ready(base)
        assert runtime(run_dir / "state")["pid"] == again.pid
    finally:
        again.interrupt()
