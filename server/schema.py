"""The Strawberry schema, assembled from the domains."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Iterator
from datetime import datetime
from functools import lru_cache, partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document
from strawberry.types import Info

from server import clock
from server.accounts.resolvers import AccountMutation, AccountQuery
from server.analytics.resolvers import AnalyticsQuery
from server.apilogs.resolvers import ApiLogQuery
from server.benchmarks.resolvers import BenchmarkQuery
from server.claims.resolvers import ClaimMutation, ClaimQuery
from server.customers.resolvers import CustomerMutation, CustomerQuery
from server.disputes.resolvers import DisputeMutation, DisputeQuery
from server.errors import ErrorCode, PaydeckError, ServiceUnavailable
from server.events.resolvers import EventQuery, EventSubscription
from server.files.resolvers import FileQuery
from server.fraud.resolvers import RadarMutation, RadarQuery
from server.gql.common import ERROR_HANDLERS, ctx_of
from server.gql.scalars import SCALAR_OVERRIDES
from server.gql.shared import SharedEventExecution
from server.gql.textguard import TextGuard
from server.keys.resolvers import KeyMutation, KeyQuery
from server.ledger.resolvers import LedgerMutation, LedgerQuery
from server.outage import is_connection_failure
from server.payments.resolvers import PaymentMutation, PaymentQuery
from server.reporting.resolvers import ReportingMutation, ReportingQuery
from server.settings import get_settings
from server.webhooks.resolvers import WebhookMutation, WebhookQuery

log = logging.getLogger(__name__)


@strawberry.type(description="Read the account, team, keys, settings, audit log, customers, transfers, FX rates, "
                             "payments, API request logs, events, webhooks, disputes, files, transfer claims, "
                             "seller benchmarks, Radar, analytics and report runs.")
class Query(AccountQuery, KeyQuery, CustomerQuery, LedgerQuery, PaymentQuery, ApiLogQuery, EventQuery, WebhookQuery,
            DisputeQuery, FileQuery, ClaimQuery, BenchmarkQuery, RadarQuery, AnalyticsQuery, ReportingQuery):
    pass


@strawberry.type(description="Change the account, its team, keys, settings, customers, balances, FX rates, "
                             "webhook endpoints, disputes, transfer claims, Radar's rules and lists, and reviews; "
                             "ask for reports.")
class Mutation(AccountMutation, KeyMutation, CustomerMutation, LedgerMutation, PaymentMutation, WebhookMutation,
               DisputeMutation, ClaimMutation, RadarMutation, ReportingMutation):
    pass


@strawberry.type(description="A heartbeat of a subscription connection, in its scope.")
class Heartbeat:
    at: datetime = strawberry.field(description="Server time.")
    account_id: str = strawberry.field(description="The account the connection is scoped to.")
    livemode: bool = strawberry.field(description="The mode the connection is scoped to.")


@strawberry.type(description="Live streams over graphql-transport-ws.")
class Subscription(EventSubscription):
    @strawberry.subscription(description="Emits every `intervalSeconds` (1–60): proves a live, scoped connection.")
    async def heartbeat(self, info: Info, interval_seconds: int = 5) -> AsyncGenerator[Heartbeat, None]:
        scope = ctx_of(info).scope
        interval = min(max(interval_seconds, 1), 60)
        while True:
            yield Heartbeat(at=clock.now(), account_id=scope.account_id, livemode=scope.livemode)
            await asyncio.sleep(interval)


def classification(status: int) -> str:
    """`extensions.classification` in the spelling GraphQL tools know (graphql-java, Spring): the HTTP status
    the error would have in REST, for clients that tell their own mistakes from the server's."""
    if status >= 500:
        return "INTERNAL_ERROR"
    return {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(status, "BAD_REQUEST")


class DomainErrors(SchemaExtension):
    """Give domain errors a code and hide unexpected ones behind a generic message."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        cleaned = []
        for error in errors:
            original = error.original_error
            if original is not None and is_connection_failure(original):
                original = self._unavailable()
            if isinstance(original, PaydeckError):
                ext = {"code": original.code, "type": original.type, "status": original.status,
                       "classification": classification(original.status)}
                if original.param:
                    ext["field"] = original.param
                ext.update(original.extra)
                cleaned.append(GraphQLError(original.message, error.nodes, error.source, error.positions,
                                            error.path, original, ext))
            elif original is not None and not isinstance(original, GraphQLError):
                log.error("unexpected error in GraphQL", exc_info=original)
                cleaned.append(GraphQLError("internal error", error.nodes, error.source, error.positions,
                                            error.path, original, {"code": ErrorCode.INTERNAL_ERROR,
                                                                   "classification": classification(500)}))
            else:
                cleaned.append(error)
        result.errors = cleaned

    def _unavailable(self) -> ServiceUnavailable:
        """PostgreSQL or Redis is down or restarting: the whole response is a 503 to retry (server.outage)."""
        exc = ServiceUnavailable()
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.status_code = exc.status
            response.headers["Retry-After"] = str(exc.retry_after)
        return exc


PARSED_DOCUMENTS = 512


def shared_limits(max_depth: int, max_aliases: int) -> Callable[[], SchemaExtension]:
    """The depth and alias limits as one extension per operation whose validation rules are built once.

    Strawberry's QueryDepthLimiter and MaxAliasesLimiter define a new rule class in every instance, and a
    subscription keeps its operation's extensions for its whole life: ~4.5 KiB per GraphQL WebSocket
    (BENCHMARKS.md "Scale-out"). The classes do not depend on the operation, so they are made here once.
    """
    rules = [*QueryDepthLimiter(max_depth=max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules]
    return lambda: AddValidationRules(rules)


_validated = lru_cache(maxsize=PARSED_DOCUMENTS)(validate_document)


class ValidatedOnce(SchemaExtension):
    """Validate each distinct document once: the result depends only on the schema, the document (one object per
    text, from the parser cache) and the rules (built once), and validating a dashboard mutation cost more CPU
    than running it (BENCHMARKS.md "Payments", account edits). Strawberry's own ValidationCache would replace an
    error TextGuard has already set; this one leaves it, so such an operation is still never run."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None and context.validation_rules:
            context.pre_execution_errors = _validated(context.schema._schema, context.graphql_document,
                                                      tuple(context.validation_rules))
        yield


def build_schema() -> strawberry.Schema:
    settings = get_settings()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=SharedEventExecution,  # one execution per live event and document
        exception_handlers=ERROR_HANDLERS,
        extensions=[
            TextGuard,
            # Factories, not instances: Strawberry makes one per operation (instances are deprecated).
            partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
            shared_limits(settings.graphql_max_depth, settings.graphql_max_aliases),
            # One parsed document per distinct text, not one per operation: 10,000 subscriptions with the same
            # query hold one AST (the cache is Strawberry's, module-wide; the token limit still applies on a miss).
            partial(ParserCache, maxsize=PARSED_DOCUMENTS),
            ValidatedOnce,  # after TextGuard and the limits' rules
            DomainErrors,
        ],
    )


schema = build_schema()
