"""The web processes' shared socket: the options that reap half-open live connections reach every connection."""

from __future__ import annotations

import os
import socket

from server.settings import get_settings
from server.webpool import bind, default_processes


def test_accepted_connections_are_reaped_when_half_open():
    settings = get_settings()
    unacked = settings.live_dead_after_seconds
    listener = bind("127.0.0.1", 0)
    try:
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                # unacknowledged data ends the connection after live_dead_after_seconds; silence is probed
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == unacked * 1000
                assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                idle = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
                probes = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) * accepted.getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
        assert settings.live_heartbeat_seconds + unacked <= 60 and idle + probes <= 60  # gone within a minute
    finally:
        listener.close()


def test_one_web_process_per_core_by_default():
    assert default_processes() == (os.cpu_count() or 1)
