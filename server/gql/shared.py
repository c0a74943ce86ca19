"""One execution per subscription event and document, shared by every subscriber in the process.

graphql-core runs a subscription's selection set once per subscriber for each
event it yields. Every subscriber of one (account, mode) receives the same
event object from the events hub, whose `cache` is shared, so the first
subscriber's result for a given document and variables is kept there and the
others reuse it: 1,000 subscribers of one query cost one execution per event,
not 1,000. Only results without errors are shared, and only for root values
that offer a cache (`shared`, set by server.events.types.Event.from_message);
what an event type shows depends on the event alone, never on who asks.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared", None)
        if shared is None or self.operation.operation != OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        key = self._key()
        done = shared.get(key)
        if done is not None:
            return done
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._keep(shared, key, result)
        if isinstance(result, ExecutionResult) and not result.errors:
            shared[key] = result
        return result

    async def _keep(self, shared: dict, key: tuple, pending: Any) -> Any:
        result = await pending
        if isinstance(result, ExecutionResult) and not result.errors:
            shared[key] = result
        return result

    def _key(self) -> tuple:
        source = self.operation.loc.source.body if self.operation.loc else repr(self.operation)
        name = self.operation.name.value if self.operation.name else None
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        return ("graphql", source, name, variables)
