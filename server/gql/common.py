"""Connections, the Error interface and result helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info

from server.context import RequestContext
from server.errors import (
    Conflict,
    IdempotencyError,
    InvalidRequest,
    NotFound,
    PaydeckError,
    PaymentRequired,
    Unprocessable,
)
from server.pagination import Page, encode_cursor, id_of, parse_limit

T = TypeVar("T")


def ctx_of(info: Info) -> RequestContext:
    """The RequestContext, whether run over HTTP/WebSocket or by a page."""
    context = info.context
    return context if isinstance(context, RequestContext) else context.ctx


@strawberry.type(description="Where a page of a connection ends, for keyset pagination.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to fetch the next page.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items, newest first, with at most 100 per page.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Items with their cursors.")
    nodes: list[T] = strawberry.field(description="The items alone.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")


def connection(page: Page[Any], convert: Callable[[Any], Any]) -> Any:
    nodes = [convert(item) for item in page.items]
    edges = [Edge(cursor=encode_cursor(id_of(item)), node=node) for item, node in zip(page.items, nodes, strict=True)]
    return Connection(edges=edges, nodes=nodes,
                      page_info=PageInfo(has_next_page=page.has_more, end_cursor=page.next_cursor))


def first_arg(first: int | None) -> int:
    return parse_limit(first, param="first")


async def one_or_none(convert: Callable[[Any], T], load: Awaitable[Any]) -> T | None:
    """What `load` finds, converted; None when it raises NotFound: a query field for one object answers null."""
    try:
        return convert(await load)
    except NotFound:
        return None


@strawberry.interface(description="A problem with a mutation's input or the state it met.")
class Error:
    message: str = strawberry.field(description="What went wrong, for people.")
    code: str = strawberry.field(description="A stable machine-readable code.")
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(description="The input was invalid; `field` names it.")
class ValidationError(Error):
    pass


@strawberry.type(description="An object the mutation refers to does not exist in this account and mode.")
class NotFoundError(Error):
    pass


@strawberry.type(description="The object's current state does not allow this change.")
class ConflictError(Error):
    pass


@strawberry.type(description="The request was understood but cannot be processed (e.g. already processed).")
class UnprocessableError(Error):
    pass


@strawberry.type(description="Not enough funds for the operation; nothing was changed.")
class InsufficientFundsError(Error):
    pass


@strawberry.type(description="The Idempotency-Key was reused with different parameters or is still running.")
class IdempotencyKeyError(Error):
    pass


# Each domain error and the member of a mutation's result union that says it (the union lists the members
# the mutation can return). ERROR_HANDLERS, registered on the schema, does the conversion for every field.
ERROR_TYPES: list[tuple[type[PaydeckError], type[Error]]] = [
    (IdempotencyError, IdempotencyKeyError),
    (InvalidRequest, ValidationError),
    (NotFound, NotFoundError),
    (Conflict, ConflictError),
    (Unprocessable, UnprocessableError),
    (PaymentRequired, InsufficientFundsError),
]


class ErrorMember(strawberry.ExceptionHandler):
    """Turns a domain error raised by a resolver into its member of the field's result union.

    Strawberry applies a handler only to fields whose union lists `error_type`, so a mutation
    just raises: `createRefund` answers `NotFoundError` for a missing payment, while an error
    its union does not list (`PermissionDenied`, `AuthenticationFailed`, or `NotFound` from a
    mutation without `NotFoundError`) stays a top-level GraphQL error with `extensions.code`.
    """

    def __init__(self, exception_type: type[PaydeckError], error_type: type[Error]) -> None:
        self.exception_type = exception_type
        self.error_type = error_type

    def handle(self, exception: PaydeckError, *, field: Any, info: Info) -> Error:
        return self.error_type(message=exception.message, code=exception.code, field=exception.param)


ERROR_HANDLERS = [ErrorMember(exc_type, gql_type) for exc_type, gql_type in ERROR_TYPES]
# The HTTP status a page answers with when a mutation returned this error member (server.web.forms).
STATUS_OF_ERROR = {gql_type.__name__: exc_type.status for exc_type, gql_type in ERROR_TYPES}


@strawberry.type(description="A mutation that changed nothing visible but succeeded.")
class Ok:
    ok: bool = strawberry.field(description="Always true.")
