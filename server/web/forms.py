"""Dashboard forms: read a POST, run its stored mutation, and answer with the outcome.

Every form handler says the same three things, so `submit` does the rest
(from server/customers/pages.py):

    return await submit(request, "CloseCustomer", {"id": customer_id},
                        page=partial(_detail, request, customer_id=customer_id),
                        then=lambda _: redirect(request, f"/customers/{customer_id}"))

It checks the session and its CSRF token, builds the variables (a dict, or a
function of the posted form), runs the stored operation (graphql/operations/)
and looks at the result. The payload goes to `then`. An error member is drawn
by `page(ctx, status=..., error=..., form=...)`: the form's page again, with
the message inline and the status its error type has in REST (ValidationError
400, NotFoundError 404, ConflictError 409, ...; gql.common.STATUS_OF_ERROR).
Bad input found while building the variables (an `InvalidRequest`, or a value
the schema refuses) is shown the same way. htmx swaps a form's 4xx answer like
a success (web/static/app.js), so the message appears where the form is.
Anything else (not logged in, no permission) is raised to `guarded` (a page drawing the error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from server import operations
from server.context import RequestContext
from server.errors import InvalidRequest
from server.gql.common import STATUS_OF_ERROR
from server.web.pages import dashboard_context, form_data

Variables = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
ErrorPage = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class Submitted:
    """A form whose mutation succeeded."""

    ctx: RequestContext
    form: dict[str, Any]
    result: dict[str, Any]  # the payload member of the mutation's result union


async def posted(request: Request) -> tuple[dict[str, Any], RequestContext]:
    """The posted form and its logged-in, CSRF-checked context: for POSTs that run no mutation."""
    form = await form_data(request)
    return form, await dashboard_context(request, form)


async def submit(request: Request, operation: str, variables: Variables | None = None, *, page: ErrorPage,
                 then: Callable[[Submitted], Response | Awaitable[Response]]) -> Response:
    """Run the stored mutation `operation`; answer with `then(...)`, or `page(...)` showing the error."""
    form, ctx = await posted(request)
    try:
        values = variables(form) if callable(variables) else variables
        result = next(iter((await operations.run(operation, ctx, values)).values()))
    except InvalidRequest as exc:
        return await page(ctx, status=exc.status, error=error_of(exc), form=form)
    if "message" in result and "code" in result:
        status = STATUS_OF_ERROR.get(result.get("__typename", ""), 400)
        return await page(ctx, status=status, error=result, form=form)
    answer = then(Submitted(ctx, form, result))
    return answer if isinstance(answer, Response) else await answer


def error_of(exc: InvalidRequest) -> dict[str, Any]:
    """An input error in the shape of a mutation's error member, for a form's inline message."""
    return {"message": exc.message, "code": exc.code, "field": exc.param}
