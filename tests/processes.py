"""Real `paydeck` processes for tests: start one as a user would, wait for it, find its children, stop it.

The environment is the user's, less the test session's server URLs, so the
process starts (or attaches to) the embedded servers of its data folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bench.ready import app_ready

BIN = Path(sys.executable).parent / "paydeck"
SERVER_URLS = ("DATABASE_URL", "REDIS_URL", "PAYDECK_DATABASE_URL", "PAYDECK_REDIS_URL", "PAYDECK_PROCESSOR_URL",
               "PAYDECK_PUBLIC_URL", "PAYDECK_DATA_DIR", "MEILI_URL", "PAYDECK_MEILI_URL")


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_URLS}
    return {**env, **extra}


class Paydeck:
    """A `paydeck` subprocess whose output is collected as it goes."""

    def __init__(self, args: list[str], cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen([str(BIN), *args], cwd=cwd, env=user_env(**env), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, base_url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"paydeck exited:\n{self.output}"
            try:
                if app_ready(httpx.get(f"{base_url}/readyz", timeout=2)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"paydeck did not become ready:\n{self.output}")

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.pid).children(recursive=True)

    def child(self, name: str) -> psutil.Process:
        """The direct child called `name` (the postmaster, not its backends)."""
        return next(c for c in psutil.Process(self.pid).children() if c.name() == name)

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C, and wait for it to finish."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            self.reader.join(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)


def run(args: list[str], cwd: Path, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], cwd=cwd, env=user_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_gone(processes: list[psutil.Process], timeout: float = 20) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def runtime(data_dir: Path) -> dict:
    return json.loads((data_dir / "runtime.json").read_text())


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A folder to run `paydeck` in. Not pytest's tmp_path: pytest makes its base folder private (0700) again
    whenever a pytest session starts, and embedded PostgreSQL runs as another user when we are root."""
    path = Path(tempfile.mkdtemp(prefix="paydeck-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)

