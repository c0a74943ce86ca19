"""When an app the benchmark started is ready to be measured."""

from __future__ import annotations

import httpx


def app_ready(readyz: httpx.Response) -> bool:
    """`/readyz` answered 200 and every web process accepts connections. A run that starts before the last
    of several processes accepts leaves the client's pool on the others (server/fairaccept.py)."""
    if readyz.status_code != 200:
        return False
    processes = readyz.json().get("checks", {}).get("web_processes")
    return processes is None or processes["accepting"] == processes["of"]
