"""Shared helpers of the reporting tests: ask for a run over REST, wait for it, read its CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx

from tests.support import eventually


async def run_report(http: httpx.AsyncClient, headers: dict[str, str], report_type: str, **parameters: Any
                     ) -> dict[str, Any]:
    """Ask for a report and wait until the worker has finished it (succeeded or failed)."""
    resp = await http.post("/v1/reporting/report_runs", json={"report_type": report_type, "parameters": parameters},
                           headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "pending"
    return await finished(http, headers, resp.json()["id"])


async def finished(http: httpx.AsyncClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = (await http.get(f"/v1/reporting/report_runs/{run_id}", headers=headers)).json()
        return body if body["status"] != "pending" else None

    return await eventually(done, timeout=30, message=f"report run {run_id} to finish")


async def csv_rows(http: httpx.AsyncClient, headers: dict[str, str], run: dict[str, Any]) -> list[dict[str, str]]:
    assert run["status"] == "succeeded", run
    resp = await http.get(f"/v1/reporting/report_runs/{run['id']}/file", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == run["result"]["rows"]
    return rows


def minor(amount: str, exponent: int = 2) -> int:
    """A CSV amount (decimal of the major unit) in minor units, exactly."""
    value = Decimal(amount).scaleb(exponent)
    assert value == value.to_integral_value(), amount
    return int(value)
