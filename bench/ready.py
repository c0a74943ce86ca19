"""Waiting until an app the benchmark started is ready to be measured."""

from __future__ import annotations

import contextlib
import subprocess
import time

import httpx


def app_ready(readyz: httpx.Response) -> bool:
    """`/readyz` answered 200 and every web process accepts connections. A run that starts before the last
    of several processes accepts leaves the client's pool on the others (server/fairaccept.py)."""
    if readyz.status_code != 200:
        return False
    processes = readyz.json().get("checks", {}).get("web_processes")
    return processes is None or processes["accepting"] == processes["of"]


def wait_ready(base: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Until the app at `base` is ready (`app_ready`); fails if `proc`, the app, exits first or `timeout`
    seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if app_ready(httpx.get(f"{base}/readyz", timeout=1)):
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app at {base} was not ready within {timeout:.0f} s")
        time.sleep(0.1)
