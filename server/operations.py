"""Stored GraphQL operations (graphql/operations/**.graphql) that the pages run.

Each file holds one named operation; its name is the file's stem. All are
parsed and validated against the schema when first loaded, so a page can
never ship a query the schema does not answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from server.context import RequestContext
from server.errors import InvalidRequest, PaydeckError
from server.gql.loaders import OperationContext
from server.gql.messages import for_people
from server.paths import GRAPHQL

ROOT = GRAPHQL / "operations"


class OperationFailed(Exception):
    def __init__(self, errors: list[Any]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@lru_cache
def load_all() -> dict[str, str]:
    from server.schema import schema

    operations: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(ROOT.rglob("*.graphql")):
        text = path.read_text()
        document = parse(text)
        names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
        if names != [path.stem]:
            problems.append(f"{path}: must hold exactly one operation named {path.stem}")
        errors = validate(schema._schema, document)
        problems += [f"{path}: {e.message}" for e in errors]
        operations[path.stem] = text
    if problems:
        raise RuntimeError("invalid stored GraphQL operations:\n" + "\n".join(problems))
    return operations


async def run(name: str, ctx: RequestContext, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a stored operation with the request's context; domain errors are re-raised."""
    from server.schema import schema

    result = await schema.execute(load_all()[name], variable_values=variables or {},
                                  context_value=OperationContext(ctx), operation_name=name)
    if result.errors:
        for error in result.errors:
            original = error.original_error
            if isinstance(original, PaydeckError):
                raise original
        if result.data is None and all(isinstance(e.original_error, GraphQLError | None) for e in result.errors):
            # Stored operations are validated at start-up, so what is left is a variable the
            # form supplied that the schema refuses (e.g. an unknown enum value): bad input,
            # said for people and naming the field, never graphql-core's words.
            first = result.errors[0]
            message, field = for_people(first.message)
            raise InvalidRequest(message, param=(first.extensions or {}).get("field") or field)
        raise OperationFailed(list(result.errors))
    assert result.data is not None
    return result.data
