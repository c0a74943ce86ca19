"""`paydeck run`: starts everything, Ctrl-C leaves no process behind, data survives a restart;
SIGTERM fails readiness before the listener closes."""

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
def test_ctrl_c_stops_everything_and_data_survives(tmp_path):
    port = free_port()
    proc = _start(tmp_path, port, "run", "--demo")
    try:
        _wait_ready(port, proc)
        demo = json.loads((tmp_path / "demo.json").read_text())
        children = psutil.Process(proc.pid).children(recursive=True)
        assert {c.name() for c in children} >= {"postgres", "redis-server"}
        resp = httpx.get(f"http://127.0.0.1:{port}/v1/account",
                         headers={"Authorization": f"Bearer {demo['secret_test_key']}"})
        assert resp.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    time.sleep(0.5)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left behind: {alive}"

    # Again: the same demo account and key still work.
    proc = _start(tmp_path, port, "run", "--demo")
    try:
        _wait_ready(port, proc)
        assert json.loads((tmp_path / "demo.json").read_text())["account_id"] == demo["account_id"]
        resp = httpx.get(f"http://127.0.0.1:{port}/v1/account",
                         headers={"Authorization": f"Bearer {demo['secret_test_key']}"})
        assert resp.json()["id"] == demo["account_id"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


@pytest.mark.slow
def test_sigterm_fails_readiness_first_then_exits(tmp_path):
    port = free_port()
    proc = _start(tmp_path, port, "run", PAYDECK_DRAIN_SECONDS="2")
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
