"""GraphQL's share of `server.textcheck`: bad text in a document's strings or in variables is a request error.

Checked before validation, for every way an operation arrives (HTTP, the
WebSocket, the pages' stored operations), so no resolver sees a NUL. The
error names the argument or variable path in `extensions.field`, with
`code: parameter_invalid` and `status: 400`, like a REST 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    Visitor,
    visit,
)
from strawberry.extensions import SchemaExtension

from server import textcheck
from server.errors import ErrorCode, InvalidRequest


class _FirstBadString(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: GraphQLError | None = None

    def enter_string_value(self, node: StringValueNode, _key: Any, parent: Any, _path: Any,
                           ancestors: Any) -> Any:
        reason = textcheck.problem(node.value)
        if reason is None:
            return None
        chain = [*ancestors, parent]
        names = [a.name.value for a in chain if isinstance(a, ArgumentNode | ObjectFieldNode)]
        field = ".".join(dict.fromkeys(names)) or "query"
        self.found = request_error(f"{field} {reason}", field, node)
        return BREAK


def request_error(message: str, field: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes=node, extensions={"code": ErrorCode.PARAMETER_INVALID,
                                                         "type": "invalid_request_error", "status": 400,
                                                         "classification": "BAD_REQUEST", "field": field})


def document_problem(document: DocumentNode | None) -> GraphQLError | None:
    if document is None:
        return None
    finder = _FirstBadString()
    visit(document, finder)
    return finder.found


def variables_problem(variables: dict[str, Any] | None) -> GraphQLError | None:
    if not variables:
        return None
    try:
        textcheck.check_tree(variables)
    except InvalidRequest as exc:
        return request_error(exc.message, exc.param or "variables")
    return None


class TextGuard(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        error = variables_problem(context.variables) or document_problem(context.graphql_document)
        if error is not None:
            context.pre_execution_errors = [error]  # validation is then skipped and the operation not run
        yield
