"""ledger: ledger_post_entry() applies and checks its postings itself instead of through per-row triggers."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: ledger_post_entry() applies and checks its own postings (the triggers guard every other write)"

# Each posting used to pass through two triggers: postings_apply (BEFORE INSERT: update the ledger account's
# balance and version, which in turn ran ledger_accounts_guard) and postings_balanced (a deferred constraint
# trigger that, at commit, summed the entry's postings once per posting). For a two-leg entry that is four
# trigger calls and two queries over postings, about a fifth of what the entry costs PostgreSQL.
#
# ledger_post_entry() has every leg in hand, so it now does the same work directly, in the same order, with
# the triggers standing aside for its own writes (ledger_bulk_mode(), as ledger_post_bulk() does):
# - lock the entry's ledger accounts in id order and refuse an unknown one (unchanged);
# - refuse an entry that does not balance per currency before writing anything (the deferred trigger refused
#   it at commit, with the same error);
# - per leg, in ledger account order: move the account's balance and version (the table's non-negative check
#   still refuses an overdraft, and a currency mismatch is still an unknown account), then insert the posting
#   with the balance and version it produced.
# The triggers stay for every other write: a posting inserted by hand is still applied and checked, and a
# balance edited by hand is still refused.
SQL = [
    """
CREATE OR REPLACE FUNCTION ledger_post_entry(p_entry_id text, p_account_id text, p_livemode boolean, p_kind text,
                                             p_reference text, p_description text, p_metadata jsonb,
                                             p_posting_ids text[], p_ledger_accounts text[], p_currencies text[],
                                             p_amounts bigint[])
RETURNS TABLE (ledger_account_id text, currency text, amount bigint, balance_after bigint)
LANGUAGE plpgsql AS $$
DECLARE
    locked int;
    bad text;
    at timestamptz := clock_timestamp();
    leg int;
    seq bigint;
BEGIN
    SELECT count(*) INTO locked FROM (
        SELECT la.id FROM ledger_accounts la
         WHERE la.id = ANY(p_ledger_accounts) AND la.account_id = p_account_id AND la.livemode = p_livemode
         ORDER BY la.id FOR UPDATE) l;
    IF locked <> (SELECT count(DISTINCT x) FROM unnest(p_ledger_accounts) x) THEN
        RAISE EXCEPTION 'unknown ledger account in entry %', p_entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT u.cur INTO bad FROM unnest(p_currencies, p_amounts) AS u(cur, amt)
     GROUP BY u.cur HAVING sum(u.amt) <> 0 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', p_entry_id, bad USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO journal_entries (id, account_id, livemode, kind, reference, description, metadata, created)
    VALUES (p_entry_id, p_account_id, p_livemode, p_kind, p_reference, p_description, p_metadata, at);
    PERFORM set_config('paydeck.ledger_bulk', 'on', true);
    FOR leg IN 1 .. coalesce(cardinality(p_ledger_accounts), 0) LOOP
        UPDATE ledger_accounts la SET balance = la.balance + p_amounts[leg], version = la.version + 1
         WHERE la.id = p_ledger_accounts[leg] AND la.account_id = p_account_id AND la.livemode = p_livemode
           AND la.currency = p_currencies[leg]
        RETURNING la.balance, la.version INTO balance_after, seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'posting to unknown ledger account % in %', p_ledger_accounts[leg], p_currencies[leg]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        INSERT INTO postings (id, account_id, livemode, entry_id, ledger_account_id, currency, amount,
                              balance_after, account_seq, created)
        VALUES (p_posting_ids[leg], p_account_id, p_livemode, p_entry_id, p_ledger_accounts[leg], p_currencies[leg],
                p_amounts[leg], balance_after, seq, at);
        ledger_account_id := p_ledger_accounts[leg];
        currency := p_currencies[leg];
        amount := p_amounts[leg];
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('paydeck.ledger_bulk', 'off', true);
END $$""",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
