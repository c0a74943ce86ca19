"""Schemathesis against the live test server: the REST API by its OpenAPI document, and GraphQL.

It generates requests from /schema/openapi.json and from /graphql's
introspection, valid and invalid, and fails on any 5xx (for GraphQL also an
"internal error" from a resolver) and on any answer that contradicts the
documented statuses, content types and response schemas. Bounded in
examples per operation and in time, so `make test` stays a few minutes.

It runs as a subprocess: the server lives in this test's event loop, which
keeps serving while the run is awaited.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from server import sessions
from tests.factories import login, new_account

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("schemathesis")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
COMMON = ["--seed", "20261130", "--workers", "1", "--request-timeout", "20", "--rate-limit", "50/s",
          "--suppress-health-check", "all", "--no-shrink", "--output-truncate", "false"]
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
# Left out, each with its reason.
# - Creating or re-pointing a webhook endpoint at a generated URL would make the app resolve that host and
#   deliver events to it: traffic beyond this machine, which tests never send.
NO_NETWORK = ["V1WebhookEndpointsCreate", "V1WebhookEndpointsEndpointIdUpdate"]
NO_NETWORK_GRAPHQL = ["Mutation.createWebhookEndpoint", "Mutation.updateWebhookEndpoint"]
EXCLUDED = NO_NETWORK
EXCLUDED_GRAPHQL = NO_NETWORK_GRAPHQL


NO_CACHE = "[cache]\nenabled = false\n"  # no replay of an earlier run's failures: each run stands alone


async def run(location: str, *args: str, budget_seconds: int, config: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(CLI), "--config-file", str(config), "run", location, *COMMON, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, cwd=config.parent, env={**os.environ, "NO_COLOR": "1"})
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), budget_seconds + 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"schemathesis-{'graphql' if location.endswith('/graphql') else 'openapi'}.txt").write_text(text)
    return proc.returncode or 0, text


@pytest.fixture(scope="module")
async def key(server) -> str:
    account = await new_account(name="Schemathesis Co")
    return account.keys["secret_test"]


@pytest.fixture(scope="module")
async def config(server, key, tmp_path_factory) -> Path:
    """Real objects of the run's account, offered as path parameters half of the time, so that generated
    requests reach past "not found" into the handlers."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=30) as client:
        request_ids = []

        async def post(path: str, body: dict) -> dict:
            resp = await client.post(path, json=body)
            assert resp.status_code in (200, 202), resp.text
            request_ids.append(resp.headers["request-id"])
            return resp.json()

        alice = await post("/v1/customers", {"email": "alice@example.com", "name": "Alice"})
        bob = await post("/v1/customers", {"email": "bob@example.com"})
        await post(f"/v1/customers/{alice['id']}/credits", {"amount": 5000, "currency": "usd",
                                                            "transaction_id": "fund-1"})
        transfer = await post("/v1/transfers", {"from_customer": alice["id"], "to_customer": bob["id"],
                                                "amount": 1000, "currency": "usd"})
        paid = await post("/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        paid = await post(f"/v1/payment_intents/{paid['id']}/confirm", {"card": {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
        held = await post("/v1/payment_intents", {"amount": 3000, "currency": "usd", "capture_method": "manual"})
        refund = await post("/v1/refunds", {"payment_intent": paid["id"], "amount": 500})
        disputed = await post("/v1/payment_intents", {"amount": 2500, "currency": "usd"})
        disputed = await post(f"/v1/payment_intents/{disputed['id']}/confirm", {"card": {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
        dispute = await post(f"/v1/test_helpers/payment_intents/{disputed['id']}/dispute", {})
        file = (await client.post("/v1/files", data={"purpose": "dispute_evidence"},
                                  files={"file": ("proof.pdf", b"%PDF-1.4\n%%EOF\n")})).json()
        claim = await post("/v1/transfer_claims", {"transfer": transfer["id"], "message": "where is it?"})
        events = (await client.get("/v1/events?limit=1")).json()["data"]
    values = {
        "customer_id": [alice["id"], bob["id"]], "transfer_id": [transfer["id"]], "pi_id": [paid["id"], held["id"]],
        "refund_id": [refund["id"]], "receipt_id": [paid["receipt"]["id"]], "event_id": [e["id"] for e in events],
        "log_id": request_ids, "dispute_id": [dispute["id"]], "file_id": [file["id"]], "claim_id": [claim["id"]],
    }
    lines = []
    for name, ids in values.items():
        lines += [f"[dictionaries.{name}]", "values = [" + ", ".join(f'"{i}"' for i in ids) + "]", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}' for name in values]
    path = tmp_path_factory.mktemp("schemathesis") / "schemathesis.toml"
    path.write_text(NO_CACHE + "\n".join(lines) + "\n")
    return path


async def test_rest_api_matches_its_openapi_document(server, key, config):
    excluded = [arg for op in EXCLUDED for arg in ("--exclude-operation-id", op)]
    code, output = await run(f"{server}/schema/openapi.json", "--url", server,
                             "-H", f"Authorization: Bearer {key}", "--checks", CHECKS, "--max-examples", "15",
                             "--max-time", "75", "--phases", "examples,coverage,fuzzing", *excluded,
                             budget_seconds=75, config=config)
    assert code == 0, output[-20000:]


async def test_graphql_never_fails_internally(server, tmp_path):
    """As the account's owner in the dashboard (an API key may not use the team and key mutations)."""
    account = await new_account(name="Schemathesis GraphQL Co")
    session = await login(server, account.user["email"])
    cookie = session.client.cookies.get(sessions.COOKIE)
    await session.client.aclose()
    excluded = [arg for name in EXCLUDED_GRAPHQL for arg in ("--exclude-name", name)]
    config = tmp_path / "schemathesis.toml"
    config.write_text(NO_CACHE)
    code, output = await run(f"{server}/graphql", "-H", f"Cookie: {sessions.COOKIE}={cookie}",
                             "-H", f"X-CSRF-Token: {session.csrf}", "--checks", "not_a_server_error",
                             "--max-examples", "10", "--max-time", "60", *excluded, budget_seconds=60, config=config)
    assert code == 0, output[-20000:]
