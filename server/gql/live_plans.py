"""Which GraphQL subscriptions the hub can serve directly, and their `next` payload serialised once per event.

An eligible subscription is a valid, guard-clean document whose chosen operation is a subscription of exactly
one directive-free `events` or `paymentUpdated` field (server.events.resolvers.LIVE_FILTERS). What it shows of
an event depends on the event, the document and the variables alone, never on who asks: so for each live event
the payload is computed and serialised by the first subscriber of a (document, operation name, variables) in the
process, kept in the event's per-process cache, and every other subscriber sends the same text inside its own
`{"id":..,"type":"next","payload":..}` wrapper.

Everything else, and every subscription that would fail (a bad variable, a missing permission, an invalid
`types`), goes through Strawberry's schema as before, so errors and other results stay exactly Strawberry's.
The payload is computed by graphql-core's own per-event execution with Strawberry's executor class, and
serialised as Strawberry's transport does (`json.dumps`, separators `,` and `:`), so it is byte-for-byte what
Strawberry would have sent (tests/gql/test_live_ws.py compares them).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    OperationType,
    execute_subscription_event,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import Executor
from graphql.execution.values import get_argument_values
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from server.errors import PaydeckError
from server.events.queries import TypeFilter
from server.events.resolvers import LIVE_FILTERS
from server.events.types import Event
from server.events.wire import EventMessage
from server.gql.textguard import document_problem, variables_problem
from server.schema import schema
from server.settings import get_settings

log = logging.getLogger(__name__)
DOCUMENTS = 512  # distinct (document, operation name) analysed and kept, like server.schema.PARSED_DOCUMENTS
PLANS = 1024  # distinct (document, operation name, variables) kept
CACHE_TAG = "graphql-ws"  # the key's first part in EventMessage.cache


class Stats:
    """Payloads computed in this process (tests count them: one per event and plan, whatever the subscribers)."""

    rendered = 0


class Analysed:
    """A document's eligible operation: its one live field and that field's definition."""

    __slots__ = ("definition", "document", "field")

    def __init__(self, document: Any, field: FieldNode, definition: GraphQLField) -> None:
        self.document, self.field, self.definition = document, field, definition


class LivePlan:
    """One (document, operation name, variables) served from the hub: its filter and its per-event payload."""

    __slots__ = ("cache_key", "executor", "types")

    def __init__(self, cache_key: tuple[str, str], executor: Executor, types: TypeFilter) -> None:
        self.cache_key = cache_key
        self.executor = executor
        self.types = types

    async def payload(self, message: EventMessage) -> str:
        """The `next` message's payload for this event, computed once per process and plan."""
        cached = message.cache.get(self.cache_key)
        if cached is None:
            cached = message.cache[self.cache_key] = (await self._render(message)).encode()
        return cached.decode()

    async def _render(self, message: EventMessage) -> str:
        Stats.rendered += 1
        event = Event.from_message(message)
        event.shared = None  # server.gql.shared's cache of execution results: this plan keeps the text instead
        result = execute_subscription_event(self.executor.build_per_event_executor(event))
        if not isinstance(result, ExecutionResult):
            result = await result
        return serialise(result)


def serialise(result: ExecutionResult) -> str:
    """A `next` payload as Strawberry's graphql-transport-ws handler writes it."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        for error in result.errors:
            log.error("error in a live subscription event: %s", error, exc_info=error.original_error)
        body["errors"] = [error.formatted for error in result.errors]
    return json.dumps(body, separators=(",", ":"))


_analysed: dict[tuple[str, str | None], Analysed | None] = {}
_plans: dict[str, LivePlan] = {}


def plan_for(query: Any, operation_name: Any, variables: Any) -> LivePlan | None:
    """The plan serving this subscription from the hub, or None: Strawberry serves it."""
    if not isinstance(query, str) or not isinstance(operation_name, str | None) or \
            not isinstance(variables, dict | None):
        return None
    key = json.dumps([query, operation_name, variables], sort_keys=True, separators=(",", ":"))
    plan = _plans.get(key)
    if plan is None:
        plan = _plan(key, query, operation_name, variables)
        if plan is not None:
            _keep(_plans, key, plan, PLANS)
    return plan


def _plan(key: str, query: str, operation_name: str | None, variables: dict[str, Any] | None) -> LivePlan | None:
    analysed = _analyse(query, operation_name)
    if analysed is None or variables_problem(variables) is not None:
        return None
    executor = schema.execution_context_class.build(schema._schema, analysed.document, raw_variable_values=variables,
                                                    operation_name=operation_name)
    if isinstance(executor, list):  # the variables do not fit the document
        return None
    try:
        args = get_argument_values(analysed.definition, analysed.field, executor.variable_values)
        types = LIVE_FILTERS[analysed.field.name.value](args)
    except (GraphQLError, PaydeckError):
        return None
    return LivePlan((CACHE_TAG, key), executor, types)


def _analyse(query: str, operation_name: str | None) -> Analysed | None:
    """Parsed and validated once per distinct text and operation name (None: not eligible)."""
    key = (query, operation_name)
    if key in _analysed:
        return _analysed[key]
    found = _eligible(query, operation_name)
    _keep(_analysed, key, found, DOCUMENTS)
    return found


def _eligible(query: str, operation_name: str | None) -> Analysed | None:
    try:
        document = parse(query, max_tokens=get_settings().graphql_max_tokens)
    except GraphQLError:
        return None
    if document_problem(document) is not None or validate(schema._schema, document, _rules()):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.SUBSCRIPTION or operation.directives:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    field = selections[0]
    subscription = schema._schema.subscription_type
    if field.directives or field.name.value not in LIVE_FILTERS or subscription is None:
        return None
    return Analysed(document, field, subscription.fields[field.name.value])


@functools.cache
def _rules() -> list[Any]:
    """The schema's validation: graphql-core's rules and the depth and alias limits (server.schema.shared_limits)."""
    settings = get_settings()
    return [*specified_rules, *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules]


def _keep(cache: dict, key: Any, value: Any, at_most: int) -> None:
    if len(cache) >= at_most:
        del cache[next(iter(cache))]  # the oldest
    cache[key] = value
