"""The Meilisearch engine's pure parts, checked without a server: documents and filter expressions."""

from __future__ import annotations

from datetime import UTC, datetime

from server.apilogs.filters import LogFilter
from server.apilogs.meili import document, filter_expression, id_ms, path_prefixes, quote
from server.context import Scope
from server.ids import new_id


def test_id_ms_reads_the_time_back_out_of_an_id():
    assert id_ms(new_id("req", 1_763_824_604_123)) == 1_763_824_604_123


def test_path_prefixes_stop_at_slashes_and_ignore_the_query():
    assert path_prefixes("/v1/customers/cus_1?x=1") == ["/v1", "/v1/customers", "/v1/customers/cus_1"]


def test_quote_escapes_what_could_break_out_of_a_string():
    assert quote('a" OR account_id = "b\\') == '"a\\" OR account_id = \\"b\\\\"'


def test_filter_is_always_scoped_and_combines_every_filter():
    flt = LogFilter(status=["404", "5xx"], method="post", path_prefix="/v1/customers/", api_key_id="key_a",
                    error_type="card_error", since=datetime(2026, 1, 1, tzinfo=UTC),
                    until=datetime(2026, 1, 2, tzinfo=UTC), idempotency_key="k", source="api", object_id="pi_1")
    expression = filter_expression(Scope("acct_1", False), flt, "")
    assert expression.startswith('account_id = "acct_1" AND livemode = false AND ')
    for part in ('(status_code = 404 OR status_class = "5xx")', 'method = "POST"', 'path_prefixes = "/v1/customers"',
                 'api_key_id = "key_a"', 'error_type = "card_error"', "started_ms >= 1767225600000",
                 "started_ms < 1767312000000", 'idempotency_key = "k"', 'source = "api"', 'object_ids = "pi_1"'):
        assert part in expression


def test_documents_hold_only_stored_redacted_fields():
    row = {"id": new_id("req"), "account_id": "acct_1", "livemode": True, "source": "api", "api_key_id": "key_a",
           "method": "GET", "path": "/v1/account", "operation_name": None, "status_code": 429,
           "error_type": "rate_limit_error", "error_message": "slow down", "started_at": datetime.now(UTC),
           "idempotency_key": None, "request_body": "", "response_body": "{}", "object_ids": []}
    doc = document(row)
    assert doc["status_class"] == "4xx" and doc["path_prefixes"] == ["/v1", "/v1/account"]
    assert set(doc) - set(row) == {"status_class", "path_prefixes", "started_ms", "id_ms"}
