"""The group-commit benchmark's batch function, `ledger_post_entries()`: many callers' entries in one call.

Installed by the benchmark and its tests (`install()`), not by a migration: no product path calls it
(docs/ledger.md, "Group commit").

An earlier version used one subtransaction and one ledger_post_entry() per entry: per posting a trigger
UPDATE of its ledger account and a deferred zero-sum check, per entry a subtransaction. PostgreSQL's CPU per
transfer, not the commit, then bounded the rate (BENCHMARKS.md, "Ledger"). Now, as ledger_post_bulk() does for
history:
- the batch's ledger accounts are locked once, in id order, and their balances and versions read;
- the entries are decided in batch order in one pass over those balances: an entry is refused alone (and
  leaves the running balances as they were) when it names a ledger account that is not its scope's or not in
  its currency (foreign_key_violation), has fewer than two postings, a zero one or does not sum to zero per
  currency (check_violation), reuses an entry id already written or earlier in the batch (unique_violation),
  or would take an account that may not go negative below zero (check_violation on
  ledger_accounts_non_negative); the others stay;
- the accepted entries go in with one INSERT, their postings (balance_after and account_seq computed in the
  pass) with one INSERT, and each touched account's balance and version move once with one UPDATE; the
  per-row triggers stand aside for these statements only (ledger_bulk_mode()), as in ledger_post_bulk(), and
  the non-negative CHECK still holds the final balances.
Metadata comes as jsonb[] through the connection's jsonb codec (no JSON text cast in SQL).
"""

from __future__ import annotations

from typing import Any

import msgspec

from server import db
from server.context import Scope
from server.ids import new_id

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_post_entries(e_ids text[], e_account_ids text[], e_livemodes boolean[],
                                               e_kinds text[], e_references text[], e_descriptions text[],
                                               e_metadata jsonb[], e_postings integer[], p_ids text[],
                                               p_ledger_accounts text[], p_currencies text[], p_amounts bigint[])
RETURNS TABLE (entry integer, ledger_account_id text, currency text, amount bigint, balance_after bigint,
               error_state text, error_constraint text, error_message text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n_entries integer := coalesce(array_length(e_ids, 1), 0);
    n_postings integer := coalesce(array_length(p_ids, 1), 0);
    la_ids text[];
    la_scopes text[];
    la_livemodes boolean[];
    la_currencies text[];
    la_negative boolean[];
    bal bigint[];
    ver bigint[];
    touched boolean[];
    p_entry integer[];
    p_account integer[] := array_fill(0, ARRAY[n_postings]);
    p_after bigint[] := array_fill(0::bigint, ARRAY[n_postings]);
    p_seq bigint[] := array_fill(0::bigint, ARRAY[n_postings]);
    e_state text[] := array_fill(NULL::text, ARRAY[n_entries]);
    e_constraint text[] := array_fill(NULL::text, ARRAY[n_entries]);
    e_message text[] := array_fill(NULL::text, ARRAY[n_entries]);
    refused integer[];
    i integer;
    j integer;
    k integer;
    first integer := 1;
    last integer;
    ts timestamptz;
BEGIN
    SELECT array_agg(l.id ORDER BY l.id), array_agg(l.account_id ORDER BY l.id),
           array_agg(l.livemode ORDER BY l.id), array_agg(l.currency ORDER BY l.id),
           array_agg(l.allow_negative ORDER BY l.id), array_agg(l.balance ORDER BY l.id),
           array_agg(l.version ORDER BY l.id)
      INTO la_ids, la_scopes, la_livemodes, la_currencies, la_negative, bal, ver
      FROM (SELECT la.id, la.account_id, la.livemode, la.currency, la.allow_negative, la.balance, la.version
              FROM ledger_accounts la WHERE la.id = ANY(p_ledger_accounts) ORDER BY la.id FOR UPDATE) l;
    touched := array_fill(false, ARRAY[coalesce(array_length(la_ids, 1), 0)]);
    ts := clock_timestamp();

    -- posting -> its entry's position
    SELECT coalesce(array_agg(s.i::integer ORDER BY s.i, s.g), ARRAY[]::integer[]) INTO p_entry
      FROM (SELECT e.i, generate_series(1, e.n) AS g FROM unnest(e_postings) WITH ORDINALITY e(n, i)) s;
    IF coalesce(array_length(p_entry, 1), 0) <> n_postings THEN
        RAISE EXCEPTION 'ledger_post_entries: e_postings does not add up to the postings given'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT array_agg(d.i) INTO refused FROM (
        SELECT u.i, row_number() OVER (PARTITION BY u.id ORDER BY u.i) AS nth
          FROM unnest(e_ids) WITH ORDINALITY u(id, i)) d
     WHERE d.nth > 1 OR EXISTS (SELECT 1 FROM journal_entries je WHERE je.id = e_ids[d.i]);
    FOREACH i IN ARRAY coalesce(refused, ARRAY[]::integer[]) LOOP
        e_state[i] := '23505';
        e_message[i] := format('journal entry %s already exists', e_ids[i]);
    END LOOP;
    SELECT array_agg(DISTINCT b.e) INTO refused FROM (
        SELECT u.e FROM unnest(p_entry, p_currencies, p_amounts) u(e, cur, amt)
         GROUP BY u.e, u.cur HAVING sum(u.amt) <> 0 OR bool_or(u.amt = 0)
        UNION ALL
        SELECT u.i::integer FROM unnest(e_postings) WITH ORDINALITY u(n, i) WHERE u.n < 2) b;
    FOREACH i IN ARRAY coalesce(refused, ARRAY[]::integer[]) LOOP
        IF e_state[i] IS NULL THEN
            e_state[i] := '23514';
            e_message[i] := format('journal entry %s needs two or more non-zero postings summing to zero '
                                   'per currency', e_ids[i]);
        END IF;
    END LOOP;

    FOR i IN 1 .. n_entries LOOP
        last := first + e_postings[i] - 1;
        IF e_state[i] IS NULL THEN
            FOR j IN first .. last LOOP
                k := array_position(la_ids, p_ledger_accounts[j]);
                IF k IS NULL OR la_scopes[k] <> e_account_ids[i] OR la_livemodes[k] <> e_livemodes[i]
                   OR la_currencies[k] <> p_currencies[j] THEN
                    e_state[i] := '23503';
                    e_message[i] := format('posting to unknown ledger account %s in %s', p_ledger_accounts[j],
                                           p_currencies[j]);
                    EXIT;
                END IF;
                p_account[j] := k;
            END LOOP;
        END IF;
        IF e_state[i] IS NULL THEN
            FOR j IN first .. last LOOP  -- tentatively, in leg order: each posting's running balance
                k := p_account[j];
                bal[k] := bal[k] + p_amounts[j];
                p_after[j] := bal[k];
            END LOOP;
            FOR j IN first .. last LOOP
                k := p_account[j];
                IF NOT la_negative[k] AND bal[k] < 0 THEN
                    e_state[i] := '23514';
                    e_constraint[i] := 'ledger_accounts_non_negative';
                    e_message[i] := format('ledger account %s would go below zero', la_ids[k]);
                    EXIT;
                END IF;
            END LOOP;
            IF e_state[i] IS NULL THEN
                FOR j IN first .. last LOOP
                    k := p_account[j];
                    ver[k] := ver[k] + 1;
                    p_seq[j] := ver[k];
                    touched[k] := true;
                END LOOP;
            ELSE  -- refused alone: undo its tentative balances
                FOR j IN first .. last LOOP
                    k := p_account[j];
                    bal[k] := bal[k] - p_amounts[j];
                END LOOP;
            END IF;
        END IF;
        first := last + 1;
    END LOOP;

    INSERT INTO journal_entries (id, account_id, livemode, kind, reference, description, metadata, created)
    SELECT u.id, u.acc, u.live, u.kind, u.ref, u.descr, coalesce(u.meta, jsonb_build_object()), ts
      FROM unnest(e_ids, e_account_ids, e_livemodes, e_kinds, e_references, e_descriptions, e_metadata, e_state)
           u(id, acc, live, kind, ref, descr, meta, state)
     WHERE u.state IS NULL;
    PERFORM set_config('paydeck.ledger_bulk', 'on', true);
    INSERT INTO postings (id, account_id, livemode, entry_id, ledger_account_id, currency, amount,
                          balance_after, account_seq, created)
    SELECT u.id, e_account_ids[u.e], e_livemodes[u.e], e_ids[u.e], u.la, u.cur, u.amt, u.after, u.seq, ts
      FROM unnest(p_ids, p_entry, p_ledger_accounts, p_currencies, p_amounts, p_after, p_seq)
           u(id, e, la, cur, amt, after, seq)
     WHERE e_state[u.e] IS NULL;
    UPDATE ledger_accounts la SET balance = u.bal, version = u.ver
      FROM unnest(la_ids, bal, ver, touched) u(id, bal, ver, touched)
     WHERE la.id = u.id AND u.touched;
    PERFORM set_config('paydeck.ledger_bulk', 'off', true);

    RETURN QUERY
    SELECT u.e, u.la, u.cur, u.amt, u.after, NULL::text, NULL::text, NULL::text
      FROM unnest(p_entry, p_ledger_accounts, p_currencies, p_amounts, p_after) u(e, la, cur, amt, after)
     WHERE e_state[u.e] IS NULL
    UNION ALL
    SELECT u.i::integer, NULL::text, NULL::text, NULL::bigint, NULL::bigint, u.state, u.cons, u.msg
      FROM unnest(e_state, e_constraint, e_message) WITH ORDINALITY u(state, cons, msg, i)
     WHERE u.state IS NOT NULL;
END $$"""


class BatchPosting(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `ledger_post_entries()`: a posting of the batch's `entry`-th entry (1-based), or that entry's error."""

    entry: int
    ledger_account_id: str | None
    currency: str | None
    amount: int | None
    balance_after: int | None
    error_state: str | None
    error_constraint: str | None
    error_message: str | None


async def install() -> None:
    """Create or refresh the function in the current database (the benchmark's, the tests')."""
    await db.execute(FUNCTION)


async def post_entries(entries: list[tuple[Scope, str, str, str | None, str, dict[str, Any],
                                          list[tuple[str, str, int]]]]) -> list[BatchPosting]:
    """Many entries in one call, each applied or refused on its own.

    `entries`: (scope, entry id, kind, reference, description, metadata, legs); a leg is
    (ledger account id, currency, amount). Result rows name their entry by its 1-based position.
    """
    legs = [leg for e in entries for leg in e[6]]
    return await db.fetch_as(
        BatchPosting, "SELECT * FROM ledger_post_entries($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [e[1] for e in entries], [e[0].account_id for e in entries], [e[0].livemode for e in entries],
        [e[2] for e in entries], [e[3] for e in entries], [e[4] for e in entries], [e[5] for e in entries],
        [len(e[6]) for e in entries], [new_id("pst") for _ in legs], [leg[0] for leg in legs],
        [leg[1] for leg in legs], [leg[2] for leg in legs])
