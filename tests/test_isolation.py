"""Tenants and modes never see each other's data: one case per route and root field, enforced."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.schema import schema
from tests.factories import login, new_account
from tests.isolation_cases import GRAPHQL_CASES, REST_CASES, Tenants

EXEMPT_PREFIXES = ("/schema", "/static", "/healthz", "/readyz", "/graphql")


def rest_routes() -> list[str]:
    app = create_app()
    names = set()
    for route in app.routes:
        if not route.path.startswith(("/v1", "/stripe/v1")):
            continue
        for method in sorted(getattr(route, "methods", [])):
            if method not in ("HEAD", "OPTIONS"):
                names.add(f"{method} {route.path}")
    return sorted(names)


def graphql_fields() -> list[str]:
    names = []
    for root in ("Query", "Mutation", "Subscription"):
        type_ = schema._schema.get_type(root)
        if type_ is not None:
            names += [f"{root}.{name}" for name in type_.fields]
    return sorted(names)


def test_every_rest_route_has_an_isolation_case():
    missing = [r for r in rest_routes() if r not in REST_CASES]
    assert not missing, f"add cases to tests/isolation_cases.py for: {missing}"


def test_every_graphql_field_has_an_isolation_case():
    missing = [f for f in graphql_fields() if f not in GRAPHQL_CASES]
    assert not missing, f"add cases to tests/isolation_cases.py for: {missing}"


@pytest.fixture
async def tenants(http, base_url):
    owner = await new_account(name="Owner Co")
    other = await new_account(name="Other Co")
    owner_session = await login(base_url, owner.user["email"])
    other_session = await login(base_url, other.user["email"])
    yield Tenants(http, owner, other, owner_session, other_session)
    await owner_session.client.aclose()
    await other_session.client.aclose()


@pytest.mark.parametrize("route", sorted(REST_CASES))
async def test_rest_route_is_isolated(route, tenants):
    await REST_CASES[route](tenants)


@pytest.mark.parametrize("field", sorted(set(GRAPHQL_CASES)))
async def test_graphql_field_is_isolated(field, tenants):
    await GRAPHQL_CASES[field](tenants)
