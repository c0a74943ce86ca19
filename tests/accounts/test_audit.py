"""The audit log: keyset pagination through GraphQL and the page's HTMX 'load more' block."""

from __future__ import annotations

import re

from tests.factories import create_key, login, new_account


async def test_audit_log_pages_through_graphql_and_htmx(base_url):
    account = await new_account(name="Audit Co")
    owner = await login(base_url, account.user["email"])
    try:
        created = [await create_key(owner, "publishable", name=f"k{i}") for i in range(52)]

        first = await owner.graphql("{ auditLog(first: 50) { nodes { targetId } pageInfo { hasNextPage endCursor } } }")
        page = first["data"]["auditLog"]
        assert len(page["nodes"]) == 50 and page["pageInfo"]["hasNextPage"] is True
        assert page["nodes"][0]["targetId"] == created[-1]["id"]  # newest first
        rest = await owner.graphql("query($a: String) { auditLog(first: 50, after: $a) { nodes { targetId } "
                                   "pageInfo { hasNextPage } } }", {"a": page["pageInfo"]["endCursor"]})
        seen = [n["targetId"] for n in page["nodes"] + rest["data"]["auditLog"]["nodes"]]
        assert len(seen) == len(set(seen))
        assert {k["id"] for k in created} <= set(seen)

        full = await owner.get("/audit")
        assert full.status_code == 200 and "<html" in full.text
        assert full.text.count("api_key.created") == 50
        more = re.search(r'hx-get="(/audit\?after=[^"]+)"', full.text)
        assert more, "no 'load more' row"
        block = await owner.get(more.group(1), headers={"HX-Request": "true"})
        assert block.status_code == 200
        assert "<html" not in block.text and "<tr" in block.text
        assert block.text.count("api_key.created") == 2
    finally:
        await owner.client.aclose()
