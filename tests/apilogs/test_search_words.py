"""The writer's search words are the words PostgreSQL's former generated column found, for any text."""

from __future__ import annotations

import pytest

from server import db
from server.apilogs.records import search_lexemes
from server.apilogs.seed import rows
from tests.apilogs.helpers import capture, new_account_id, store

pytestmark = pytest.mark.usefixtures("server")

TEXTS = [
    '{"description": "order 12 for Jenny Rosen", "card": {"last4": "4242"}}',
    "/v1/payment_intents/pi_01jabcdefghjkmnpqrstvwxyz0/confirm?expand[]=customer",
    "Café déjà-vu ÜBER straße 東京 x1y2 __init__ e-mail: jenny@example.com http://a.b/c 3.14 -7 1e5",
    "a" * 3000 + " tail " + "é" * 1500,
    "ASCII Only MiXeD case " + "B" * 2100 + " req_01ABC {\"Key\": 42}",  # ASCII: the byte-table path, a long word
    "",
]
GENERATED = ("to_tsvector('simple', regexp_replace(left($1, 200000), '[^[:alnum:]]+', ' ', 'g'))")


@pytest.mark.parametrize("text", TEXTS)
async def test_the_writer_finds_the_words_the_generated_column_found(text):
    row = await db.fetchrow(f"SELECT array(SELECT lexeme FROM unnest({GENERATED}) ORDER BY 1) AS words", text)
    assert row is not None
    assert sorted(search_lexemes(text), key=str.encode) == sorted(row["words"], key=str.encode)


async def test_stored_records_are_found_by_their_words():
    account = new_account_id()
    [log_id] = await store(capture(account, path="/v1/customers", status=402,
                                   response={"error": {"type": "card_error", "message": "Zebra declined"}}))
    found = await db.fetchrow("SELECT search FROM api_request_logs WHERE id = $1 "
                              "AND search @@ to_tsquery('simple', 'zebra:* & custom:*')", log_id)
    assert found is not None and "declined" in found["search"]


def test_seeded_rows_carry_their_words():
    row = next(rows("acct_x", False, 1, 1, ["key_seed0"]))
    assert row[0].removeprefix("req_") in row[-1] and "req" in row[-1]
