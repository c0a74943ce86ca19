"""One contract, every engine present: PostgreSQL always, Meilisearch when MEILI_URL is set.

Each case stores its own records in a fresh account and asserts the exact
ids, newest first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from server.apilogs.filters import LogFilter
from server.context import Scope
from tests.apilogs.helpers import capture, new_account_id, store

ENGINES = ["postgres", pytest.param("meilisearch", marks=pytest.mark.skipif(
    not os.environ.get("MEILI_URL"), reason="MEILI_URL is not set: no Meilisearch to run the contract against"))]


@pytest.fixture(params=ENGINES)
async def engine(request, server):
    if request.param == "postgres":
        from server.apilogs.pgsearch import PostgresEngine

        return PostgresEngine()
    from server.apilogs.meili import MeiliEngine

    meili = MeiliEngine(os.environ["MEILI_URL"], os.environ.get("MEILI_MASTER_KEY"), "test_api_request_logs")
    return meili


async def sync(engine) -> None:
    if engine.name == "meilisearch":
        await engine.index_pending(settle_seconds=0)


@dataclass
class Dataset:
    scope: Scope
    ids: dict[str, str]

    def of(self, *names: str) -> list[str]:
        return sorted((self.ids[n] for n in names), reverse=True)


@pytest.fixture
async def data(engine) -> Dataset:
    account = new_account_id()
    other = new_account_id()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    pi = "pi_01m81xy00cn72e13k995h5m5xj"

    def at(seconds: int) -> datetime:
        return t0 + timedelta(seconds=seconds)

    specs = {
        "old_delete": capture(account, at=t0 - timedelta(days=2), method="DELETE", path="/v1/customers/cus_x",
                              status=500, response={"error": {"type": "api_error", "message": "boom"}},
                              key_id="key_b"),
        "list": capture(account, at=at(1), path="/v1/customers", key_id="key_a",
                        response={"data": [{"name": "Jenny Rosen", "email": "jenny@example.com"}]}),
        "create_bad": capture(account, at=at(2), method="POST", path="/v1/customers", status=400, key_id="key_b",
                              body={"email": "nobody"}, headers=[("Idempotency-Key", "idem-1")],
                              response={"error": {"type": "invalid_request_error", "code": "parameter_invalid",
                                                  "message": "amount must be a positive integer"}}),
        "declined": capture(account, at=at(3), method="POST", path="/v1/payment_intents", status=402,
                            key_id="key_a", response={"error": {"type": "card_error", "code": "card_declined",
                                                                "message": "Your card was declined."}}),
        "missing": capture(account, at=at(4), path=f"/v1/payment_intents/{pi}", status=404, key_id="key_b",
                           response={"error": {"type": "invalid_request_error", "code": "resource_missing",
                                               "message": f"No such payment_intent: '{pi}'"}}),
        "dashboard": capture(account, at=at(5), method="POST", path="/graphql", source="dashboard", key_id=None,
                             user_id="usr_1", body={"query": "mutation Checkout { checkout { id } }"},
                             response={"data": {"checkout": {"id": "x"}}}),
        # Same words, other mode and other account: never visible from the test-mode scope.
        "live": capture(account, livemode=True, at=at(6), path="/v1/customers", key_id="key_a",
                        response={"name": "Jenny Rosen", "message": "declined"}),
        "foreign": capture(other, at=at(7), path="/v1/customers", key_id="key_a",
                           response={"name": "Jenny Rosen", "message": "declined"}),
    }
    await store(*specs.values())
    await sync(engine)
    return Dataset(Scope(account, False), {name: raw.request_id for name, raw in specs.items()})


ALL = ("old_delete", "list", "create_bad", "declined", "missing", "dashboard")


async def ids(engine, data: Dataset, flt: LogFilter | None = None, query: str = "", limit: int = 100) -> list[str]:
    found, has_more = await engine.search(data.scope, flt or LogFilter(), query, limit, None)
    assert not has_more
    return found


class TestFilters:
    async def test_no_filter_lists_the_scope_newest_first(self, engine, data):
        assert await ids(engine, data) == data.of(*ALL)

    @pytest.mark.parametrize("status, expected", [
        (["4xx"], ("create_bad", "declined", "missing")), (["404"], ("missing",)),
        (["200", "5xx"], ("list", "dashboard", "old_delete")),
    ])
    async def test_status_codes_and_classes(self, engine, data, status, expected):
        assert await ids(engine, data, LogFilter(status=status)) == data.of(*expected)

    async def test_method(self, engine, data):
        assert await ids(engine, data, LogFilter(method="post")) == data.of("create_bad", "declined", "dashboard")

    async def test_path_prefix(self, engine, data):
        assert await ids(engine, data, LogFilter(path_prefix="/v1/customers")) == data.of(
            "list", "create_bad", "old_delete")
        assert await ids(engine, data, LogFilter(path_prefix="/v1/payment_intents")) == data.of("declined", "missing")

    async def test_key_error_type_idempotency_key_source_object(self, engine, data):
        assert await ids(engine, data, LogFilter(api_key_id="key_a")) == data.of("list", "declined")
        assert await ids(engine, data, LogFilter(error_type="card_error")) == data.of("declined")
        assert await ids(engine, data, LogFilter(idempotency_key="idem-1")) == data.of("create_bad")
        assert await ids(engine, data, LogFilter(source="dashboard")) == data.of("dashboard")
        assert await ids(engine, data, LogFilter(object_id="pi_01m81xy00cn72e13k995h5m5xj")) == data.of("missing")

    async def test_date_range(self, engine, data):
        day_ago = datetime.now(UTC) - timedelta(days=1)
        assert await ids(engine, data, LogFilter(since=day_ago)) == data.of(*ALL[1:])
        assert await ids(engine, data, LogFilter(until=day_ago)) == data.of("old_delete")

    async def test_filters_combine(self, engine, data):
        assert await ids(engine, data, LogFilter(status=["4xx"], method="GET", api_key_id="key_b")) == data.of(
            "missing")


class TestFullText:
    @pytest.mark.parametrize("query, expected", [
        ("declined", ("declined",)), ("Jenny Rosen", ("list",)), ("jen", ("list",)),
        ("positive integer", ("create_bad",)), ("Checkout", ("dashboard",)), ("rosen declined", ()),
        ("jenny@example.com", ("list",)), ("nothing-like-this", ()),
    ])
    async def test_words_must_all_match(self, engine, data, query, expected):
        assert await ids(engine, data, query=query) == data.of(*expected)

    async def test_request_id_finds_exactly_that_record(self, engine, data):
        assert await ids(engine, data, query=data.ids["missing"]) == [data.ids["missing"]]
        assert await ids(engine, data, query=data.ids["foreign"]) == []
        assert await ids(engine, data, query=data.ids["live"]) == []

    @pytest.mark.parametrize("crafted", ['" OR account_id != "', "' OR 1=1 --", "*", "account_id = x",
                                         "livemode = true", ")) OR ((", "%", "_"])
    async def test_crafted_text_stays_in_scope(self, engine, data, crafted):
        own = set(data.of(*ALL))
        assert set(await ids(engine, data, query=crafted)) <= own

    async def test_text_and_filters_combine(self, engine, data):
        assert await ids(engine, data, LogFilter(status=["2xx"]), "jenny") == data.of("list")
        assert await ids(engine, data, LogFilter(status=["4xx"]), "jenny") == []


class TestPagination:
    async def test_pages_are_stable_while_new_records_arrive(self, engine, data):
        seen: list[str] = []
        after = None
        while True:
            page, has_more = await engine.search(data.scope, LogFilter(), "", 2, after)
            seen += page
            # new records keep arriving between pages
            await store(capture(data.scope.account_id, path="/v1/customers", key_id="key_a"))
            await sync(engine)
            if not has_more:
                break
            after = page[-1]
        assert seen == data.of(*ALL)
