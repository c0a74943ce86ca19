"""Who owns a data folder's embedded servers, and where they listen.

The process that starts the embedded servers of a data folder owns it: it
holds an exclusive lock on `runtime.lock` for as long as it lives (the
kernel drops the lock when the process dies, however it dies) and describes
itself and its servers in `runtime.json`: its pid and start time (so a
reused pid is never taken for it), the command, and the servers' URLs.

Other processes never start or stop servers they do not own: a command
beside a running `paydeck run` attaches to its servers, and only servers
whose owner is really gone are stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

LOCK_FILE = "runtime.lock"
RUNTIME_FILE = "runtime.json"


class DataFolderBusy(Exception):
    """The data folder belongs to another live process; the message says which and what to do."""


@dataclass
class Owner:
    pid: int
    started: float  # the process's start time: with the pid, it names one process for good
    command: str
    serving: bool  # a long-running `paydeck run`/`web`/`worker`: others may attach to its servers
    database_url: str | None = None
    redis_url: str | None = None
    processor_url: str | None = None
    app_url: str | None = None  # where `paydeck run`/`web` serves HTTP

    def alive(self) -> bool:
        return process_start_time(self.pid) == self.started

    def describe(self) -> str:
        where = f" at {self.app_url}" if self.app_url else ""
        return f"`{self.command}` (pid {self.pid}){where}"


def process_start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def myself(command: str, serving: bool) -> Owner:
    pid = os.getpid()
    return Owner(pid=pid, started=process_start_time(pid) or 0.0, command=command, serving=serving)


def recorded_owner(data_dir: Path) -> Owner | None:
    """The owner `runtime.json` names, if that very process is still alive."""
    try:
        owner = Owner(**json.loads((data_dir / RUNTIME_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return owner if owner.alive() else None


class Claim:
    """This process owns the data folder until `release()` (or until it dies)."""

    def __init__(self, data_dir: Path, fd: int, owner: Owner) -> None:
        self.data_dir = data_dir
        self.fd = fd
        self.owner = owner

    def publish(self, **urls: str | None) -> None:
        """Record where our servers listen, atomically, for other processes to attach."""
        for name, value in urls.items():
            setattr(self.owner, name, value)
        path = self.data_dir / RUNTIME_FILE
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self.owner), indent=2))
        tmp.chmod(0o600)
        os.replace(tmp, path)

    def release(self) -> None:
        if self.fd < 0:
            return
        if recorded_owner(self.data_dir) == self.owner:
            with contextlib.suppress(OSError):
                (self.data_dir / RUNTIME_FILE).unlink()
        os.close(self.fd)  # closing the file drops the lock
        self.fd = -1


def try_claim(data_dir: Path, command: str, serving: bool) -> Claim | None:
    """Own the data folder if nobody does; None while another live process owns it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return Claim(data_dir, fd, myself(command, serving))


def claim_or_attach(data_dir: Path, command: str, serving: bool, *, wait_seconds: float = 180.0,
                    say=print) -> Claim | Owner:
    """Own the data folder, or attach to the live `paydeck run`/`web`/`worker` that owns it.

    A long-running command (`serving`) never attaches: two of them on one folder is an error. A
    short-lived owner (`paydeck migrate`, ...) is waited for, as is an owner still starting up.
    """
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        claim = try_claim(data_dir, command, serving)
        if claim is not None:
            return claim
        owner = recorded_owner(data_dir)
        if owner is not None and owner.serving:
            if serving:
                raise DataFolderBusy(
                    f"Paydeck is already running on the data folder {data_dir}: {owner.describe()}. "
                    "Stop it first (Ctrl-C), or set PAYDECK_DATA_DIR to another folder.")
            if owner.database_url and owner.redis_url:
                return owner
        if time.monotonic() > deadline:
            what = owner.describe() if owner else "another process"
            raise DataFolderBusy(f"the data folder {data_dir} is still in use by {what} after {wait_seconds:.0f}s")
        if not told:
            what = owner.describe() if owner else "another paydeck command, still starting"
            say(f"  waiting for {what} to be done with {data_dir}", flush=True)
            told = True
        time.sleep(0.2)
