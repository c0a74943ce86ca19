"""Stored GraphQL operations (graphql/operations/**.graphql) that the pages run.

Each file holds one named operation; its name is the file's stem. Fragments
shared by several operations live in graphql/fragments/ (`...Layout` gives a
page's shell the viewer and the account); an operation gets the fragments it
spreads, and those they spread, appended. All are parsed and validated
against the schema when first loaded, so a page can never ship a query the
schema does not answer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from server.context import RequestContext
from server.errors import InvalidRequest, PaydeckError
from server.gql.loaders import OperationContext
from server.gql.messages import for_people
from server.paths import GRAPHQL

ROOT = GRAPHQL / "operations"
FRAGMENTS = GRAPHQL / "fragments"


class OperationFailed(Exception):
    def __init__(self, errors: list[Any]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@lru_cache
def load_all() -> dict[str, str]:
    return load(ROOT, FRAGMENTS)


def load(root: Path, fragments_folder: Path) -> dict[str, str]:
    """Every operation under `root` with the fragments it needs from `fragments_folder`, validated."""
    from server.schema import schema

    fragments, problems = _fragments(fragments_folder)
    operations: dict[str, str] = {}
    for path in sorted(root.rglob("*.graphql")):
        written = path.read_text()
        document = parse(written)
        names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
        if names != [path.stem]:
            problems.append(f"{path}: must hold exactly one operation named {path.stem}")
        text = "\n".join([written, *(print_ast(fragments[n]) for n in _needed(document, fragments))])
        problems += [f"{path}: {e.message}" for e in validate(schema._schema, parse(text))]
        operations[path.stem] = text
    if problems:
        raise RuntimeError("invalid stored GraphQL operations:\n" + "\n".join(problems))
    return operations


def _fragments(folder: Path) -> tuple[dict[str, FragmentDefinitionNode], list[str]]:
    fragments: dict[str, FragmentDefinitionNode] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.graphql")) if folder.is_dir() else []:
        for definition in parse(path.read_text()).definitions:
            if not isinstance(definition, FragmentDefinitionNode):
                problems.append(f"{path}: holds fragments only")
            elif definition.name.value in fragments:
                problems.append(f"{path}: a second fragment named {definition.name.value}")
            else:
                fragments[definition.name.value] = definition
    return fragments, problems


def _spread(node: DocumentNode | FragmentDefinitionNode) -> set[str]:
    """The names of the fragments `node` spreads."""
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names


def _needed(document: DocumentNode, fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """The shared fragments the operation spreads, directly or through another fragment, in a stable order."""
    needed: list[str] = []
    waiting = sorted(_spread(document))
    while waiting:
        name = waiting.pop(0)
        if name in fragments and name not in needed:  # an unknown one is left for validation to name
            needed.append(name)
            waiting += sorted(_spread(fragments[name]) - set(needed))
    return needed


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
