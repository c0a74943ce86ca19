"""Radar's writes failed right after each of their commits, then retried with the same Idempotency-Key.

The harness of tests/idempotency/test_recovery.py: the retry answers as the first attempt would have and
leaves exactly one rule, one list, one item (a list or an item is not "already there" for its own retry).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.idempotency.test_recovery import Case, count, fail_after_every_commit_then_retry
from tests.payments.helpers import Merchant, merchant


async def _nothing(m: Merchant) -> dict[str, Any]:
    return {"marker": secrets.randbelow(10**9) + 1}


async def _a_list(m: Merchant) -> dict[str, Any]:
    made = await m.post("/v1/radar/value_lists", {"alias": f"vip_{secrets.token_hex(4)}", "name": "VIP",
                                                  "item_type": "email"})
    assert made.status_code == 200, made.text
    return {"list": made.json()["id"], "value": f"buyer-{secrets.token_hex(4)}@example.com"}


async def check_rule(m: Merchant, thing: dict[str, Any], answer: dict[str, Any]) -> None:
    text = f"review if :amount_in_usd: > {thing['marker']}"
    assert answer["rule"] == text
    assert await count("SELECT 1 FROM radar_rules WHERE account_id = $1 AND rule = $2", m.id, text) == 1


async def check_list(m: Merchant, thing: dict[str, Any], answer: dict[str, Any]) -> None:
    alias = f"list_{thing['marker']}"
    assert answer["alias"] == alias
    assert await count("SELECT 1 FROM radar_value_lists WHERE account_id = $1 AND alias = $2", m.id, alias) == 1


async def check_item(m: Merchant, thing: dict[str, Any], answer: dict[str, Any]) -> None:
    assert answer["value"] == thing["value"]
    assert await count("SELECT 1 FROM radar_value_list_items WHERE value_list_id = $1", thing["list"]) == 1


CASES = {
    "create rule": Case(lambda t: "/v1/radar/rules",
                        lambda t: {"rule": f"review if :amount_in_usd: > {t['marker']}"}, _nothing, check_rule),
    "create value list": Case(lambda t: "/v1/radar/value_lists",
                              lambda t: {"alias": f"list_{t['marker']}", "name": "Blocked", "item_type": "email"},
                              _nothing, check_list),
    "add list item": Case(lambda t: "/v1/radar/value_list_items",
                          lambda t: {"value_list": t["list"], "value": t["value"]}, _a_list, check_item),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_failure_after_every_commit_then_retry_acts_once(http, name):
    await fail_after_every_commit_then_retry(await merchant(http), CASES[name])
