"""One owner per data folder: a live process (pid and start time) holding the folder's lock."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from server.ownership import DataFolderBusy, Owner, claim_or_attach, myself, recorded_owner, try_claim


def _record(data_dir: Path, **fields) -> None:
    owner = {"pid": os.getpid(), "started": myself("x", False).started, "command": "paydeck run", "serving": True,
             "database_url": "postgresql://db", "redis_url": "redis://r", "processor_url": None, "app_url": None}
    (data_dir / "runtime.json").write_text(json.dumps({**owner, **fields}))


def test_one_claim_at_a_time_and_released_on_exit(tmp_path):
    first = try_claim(tmp_path, "paydeck run", True)
    assert first is not None
    assert try_claim(tmp_path, "paydeck run", True) is None
    first.publish(database_url="postgresql://db")
    assert recorded_owner(tmp_path) == first.owner
    first.release()
    assert not (tmp_path / "runtime.json").exists()
    again = try_claim(tmp_path, "paydeck migrate", False)
    assert again is not None
    again.release()


def test_a_record_of_a_gone_or_reused_pid_names_no_owner(tmp_path):
    _record(tmp_path, pid=2**22 + 12345)  # beyond any pid in use
    assert recorded_owner(tmp_path) is None
    _record(tmp_path, started=1.0)  # our pid, but another process's start time: the pid was reused
    assert recorded_owner(tmp_path) is None
    _record(tmp_path)
    assert isinstance(recorded_owner(tmp_path), Owner)


def test_a_second_long_running_command_refuses_and_a_short_one_attaches(tmp_path):
    holder = try_claim(tmp_path, "paydeck run", True)
    assert holder is not None
    try:
        holder.publish(database_url="postgresql://db", redis_url="redis://r", app_url="http://127.0.0.1:8000")
        with pytest.raises(DataFolderBusy, match=r"already running .*`paydeck run` \(pid \d+\) at http://127"):
            claim_or_attach(tmp_path, "paydeck run", True, wait_seconds=1)
        attached = claim_or_attach(tmp_path, "paydeck migrate", False, wait_seconds=1)
        assert isinstance(attached, Owner) and attached.database_url == "postgresql://db"
    finally:
        holder.release()


def test_a_short_lived_owner_is_waited_for_not_attached_to(tmp_path):
    holder = try_claim(tmp_path, "paydeck migrate", False)
    assert holder is not None
    try:
        holder.publish(database_url="postgresql://db", redis_url="redis://r")
        said = []
        with pytest.raises(DataFolderBusy, match="still in use by `paydeck migrate`"):
            claim_or_attach(tmp_path, "paydeck account create", False, wait_seconds=0.5,
                            say=lambda *a, **k: said.append(a[0]))
        assert "waiting for `paydeck migrate`" in said[0]
    finally:
        holder.release()
    claim = claim_or_attach(tmp_path, "paydeck account create", False, wait_seconds=1)
    assert claim.owner.command == "paydeck account create"
    claim.release()
