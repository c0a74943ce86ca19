"""ledger: ledger_post_entries(), many callers' entries in one call, each in its own subtransaction (group commit)."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: ledger_post_entries() posts a batch of entries, each succeeding or failing on its own"

# The ledger's group commit (server/ledger/group.py) sends every waiting caller's entry in this one call and
# commits once. Each entry runs ledger_post_entry() inside its own BEGIN … EXCEPTION block (a subtransaction):
# an entry that would overdraw an account is undone alone and reported, the others stay. The batch's ledger
# accounts are locked first, in id order, as ledger_post_entry() itself does, so a batch cannot deadlock
# another batch or a single post. Postings come flattened, entry after entry: entry i has the next e_postings[i].
SQL = [
    """
CREATE FUNCTION ledger_post_entries(e_ids text[], e_account_ids text[], e_livemodes boolean[], e_kinds text[],
                                    e_references text[], e_descriptions text[], e_metadata text[],
                                    e_postings integer[], p_ids text[], p_ledger_accounts text[],
                                    p_currencies text[], p_amounts bigint[])
RETURNS TABLE (entry integer, ledger_account_id text, currency text, amount bigint, balance_after bigint,
               error_state text, error_constraint text, error_message text)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    first integer := 1;
    last integer;
    state text;
    cons text;
    msg text;
BEGIN
    PERFORM 1 FROM ledger_accounts la WHERE la.id = ANY(p_ledger_accounts) ORDER BY la.id FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(e_ids, 1), 0) LOOP
        last := first + e_postings[i] - 1;
        BEGIN
            RETURN QUERY
            SELECT i, r.ledger_account_id, r.currency, r.amount, r.balance_after, NULL::text, NULL::text, NULL::text
              FROM ledger_post_entry(e_ids[i], e_account_ids[i], e_livemodes[i], e_kinds[i], e_references[i],
                                     e_descriptions[i], e_metadata[i]::jsonb, p_ids[first:last],
                                     p_ledger_accounts[first:last], p_currencies[first:last],
                                     p_amounts[first:last]) r;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, cons = CONSTRAINT_NAME, msg = MESSAGE_TEXT;
            RETURN QUERY SELECT i, NULL::text, NULL::text, NULL::bigint, NULL::bigint, state, cons, msg;
        END;
        first := last + 1;
    END LOOP;
END $$""",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
