"""Domain errors become the mutation's error member in one place (server.gql.common.ERROR_HANDLERS)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated

import strawberry

from server import errors
from server.gql.common import ERROR_HANDLERS, STATUS_OF_ERROR, NotFoundError, ValidationError
from tests.factories import bearer, gql, new_account

SERVER = Path(__file__).resolve().parents[2] / "server"


@strawberry.type
class Done:
    ok: bool


Result = Annotated[Done | ValidationError, strawberry.union("Result")]
FAILURES = {"invalid": errors.InvalidRequest("amount must be positive", param="amount"),
            "missing": errors.NotFound("no such thing"), "denied": errors.PermissionDenied("not for you")}


@strawberry.type
class Query:
    @strawberry.field
    async def thing(self, failure: str) -> Done | None:
        raise FAILURES[failure]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def change(self, failure: str) -> Result:
        raise FAILURES[failure]


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, exception_handlers=ERROR_HANDLERS)
CHANGE = "mutation($f: String!) { change(failure: $f) { __typename ... on ValidationError { message code field } } }"


async def test_an_error_the_union_lists_is_its_member():
    result = await SCHEMA.execute(CHANGE, variable_values={"f": "invalid"})
    assert result.errors is None
    assert result.data == {"change": {"__typename": "ValidationError", "message": "amount must be positive",
                                      "code": "invalid_request", "field": "amount"}}


async def test_an_error_the_union_does_not_list_stays_a_top_level_error():
    for failure in ("missing", "denied"):  # NotFoundError is not in Result; auth errors never are members
        result = await SCHEMA.execute(CHANGE, variable_values={"f": failure})
        assert result.data is None and result.errors
        assert result.errors[0].original_error is FAILURES[failure]


async def test_a_query_field_without_error_members_raises():
    result = await SCHEMA.execute('{ thing(failure: "invalid") { ok } }')
    assert result.errors and result.errors[0].original_error is FAILURES["invalid"]


async def test_the_real_schema_answers_a_missing_object_with_its_member(http):
    account = await new_account()
    cancel = 'mutation { cancelPaymentIntent(id: "pi_nope") { __typename ... on Error { code field } } }'
    result = await gql(http, cancel, headers=bearer(account.keys["secret_test"]))
    assert result["data"]["cancelPaymentIntent"] == {"__typename": "NotFoundError", "code": "resource_missing",
                                                     "field": "id"}


def test_pages_give_each_member_the_status_rest_gives_its_error():
    assert STATUS_OF_ERROR[NotFoundError.__name__] == 404 and STATUS_OF_ERROR["ConflictError"] == 409
    assert STATUS_OF_ERROR["InsufficientFundsError"] == 402 and STATUS_OF_ERROR[ValidationError.__name__] == 400


def test_no_resolver_catches_domain_errors_by_hand():
    """A mutation raises; the schema's handlers answer. A hand-written `except PaydeckError` is the old way."""
    names = {name for name, value in vars(errors).items() if isinstance(value, type)
             and issubclass(value, errors.PaydeckError)}
    found = []
    for path in sorted(SERVER.rglob("resolvers.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if any(isinstance(c, ast.Name) and c.id in names for c in caught):
                    found.append(f"{path.relative_to(SERVER.parent)}:{node.lineno}")
    assert not found, f"resolvers catching domain errors by hand (raise them instead): {found}"
