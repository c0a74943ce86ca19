"""/schema/openapi.json tells the truth: the error shape on every status, bearer security, parameter ranges."""

from __future__ import annotations

import pytest

from server.pagination import MAX_LIMIT

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
async def spec(server):
    import httpx

    async with httpx.AsyncClient(base_url=server) as client:
        return (await client.get("/schema/openapi.json")).json()


def operations(spec, prefix="/v1/"):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if path.startswith(prefix) and method in item:
                yield method.upper(), path, item[method]


def test_bearer_security_on_every_api_operation(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for method, path, op in operations(spec):
        assert op["security"] == [{"bearerAuth": []}], (method, path)
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_every_error_status_uses_the_one_error_shape(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["properties"]) == {"type", "code", "message", "param", "request_id"}
    seen: set[str] = set()
    for method, path, op in operations(spec):
        statuses = {s for s in op["responses"] if s[0] in "45"}
        assert {"400", "401", "403", "404", "429", "503"} <= statuses, (method, path)
        if method == "POST":
            assert {"409", "413", "415", "422"} <= statuses, (method, path)
        for status in statuses:
            body = op["responses"][status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)
        seen |= statuses
    assert {"400", "401", "402", "403", "404", "409", "413", "415", "422", "429", "503"} <= seen
    refund = spec["paths"]["/v1/refunds"]["post"]["responses"]
    assert "402" in refund and "Retry-After" in refund["429"]["headers"]


def test_parameters_have_types_ranges_and_allowed_values(spec):
    for method, path, op in operations(spec):
        for param in op.get("parameters", []):
            schema = param["schema"]
            assert "oneOf" not in schema, (method, path, param["name"])  # no "any string or null"
            if param["name"] == "limit":
                assert schema == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20,
                                  "description": schema["description"]}
    params = {p["name"]: p["schema"] for p in spec["paths"]["/v1/payment_intents"]["get"]["parameters"]}
    assert "succeeded" in params["status"]["enum"] and params["amount[gte]"]["minimum"] == 0
    logs = {p["name"]: p["schema"] for p in spec["paths"]["/v1/request_logs"]["get"]["parameters"]}
    assert logs["source"]["enum"] == ["api", "compat", "dashboard"] and "limit" in logs
    events = {p["name"]: p["schema"] for p in spec["paths"]["/v1/events"]["get"]["parameters"]}
    assert events["created[gte]"]["type"] == "integer"


async def test_real_errors_match_the_documented_shape(spec, http):
    """Each status the docs promise, produced for real, has exactly the documented fields."""
    import jsonschema_rs

    from tests.factories import bearer, new_account

    validator = jsonschema_rs.validator_for(spec["components"]["schemas"]["Error"])
    account = await new_account(name="Docs Co")
    key = bearer(account.keys["secret_test"])
    answers = [
        await http.get("/v1/customers?limit=0", headers=key),
        await http.get("/v1/customers"),
        await http.get("/v1/customers/cus_missing", headers=key),
        await http.post("/v1/customers", content=b"x=1", headers={**key, "Content-Type": "text/plain"}),
        await http.post("/v1/customers", content=b"{}" + b" " * (2 << 20), headers={**key,
                        "Content-Type": "application/json"}),
    ]
    assert [a.status_code for a in answers] == [400, 401, 404, 415, 413]
    for answer in answers:
        validator.validate(answer.json())
