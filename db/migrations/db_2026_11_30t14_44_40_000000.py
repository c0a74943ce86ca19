from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T14:44:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: a bulk path for history (many dated entries in one call) with the same invariants"

# `ledger_post_bulk()` writes many journal entries and their postings at once, dated in the past
# (demo history, benchmark data). Per-row triggers would make that quadratic (every posting updates
# its ledger account's row again), so inside the function the per-row triggers stand aside
# (`ledger_bulk_mode()`, a transaction-local setting only the function turns on and off again) and
# the function enforces the same rules set-wise before it writes:
# - every ledger account exists in the account and mode, and is locked in id order;
# - every entry has at least two postings and balances per currency;
# - balance_after and account_seq continue each account's running balance and version in time order,
#   and no posting is dated before a posting the account already has;
# - an account that may not go negative never does, at any point of the history;
# - each account's balance and version then move once by the batch's total, and an account dates
#   from its first posting (point-in-time balances list it from then on).
# Postings and journal entries stay immutable; ordinary posts keep using ledger_post_entry().
SQL = [
    """
CREATE FUNCTION ledger_bulk_mode() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('paydeck.ledger_bulk', true), '') = 'on'
$$""",
    "DROP TRIGGER postings_apply ON postings",
    "CREATE TRIGGER postings_apply BEFORE INSERT ON postings FOR EACH ROW WHEN (NOT ledger_bulk_mode()) "
    "EXECUTE FUNCTION ledger_apply_posting()",
    "DROP TRIGGER postings_balanced ON postings",
    "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW WHEN (NOT ledger_bulk_mode()) EXECUTE FUNCTION ledger_check_balanced()",
    """
CREATE OR REPLACE FUNCTION ledger_guard_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.currency IS DISTINCT FROM OLD.currency) AND pg_trigger_depth() < 2 AND NOT ledger_bulk_mode() THEN
        RAISE EXCEPTION 'ledger balances change only through postings' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    """
CREATE FUNCTION ledger_post_bulk(p_account_id text, p_livemode boolean,
                                 e_ids text[], e_kinds text[], e_references text[], e_descriptions text[],
                                 e_created timestamptz[],
                                 p_ids text[], p_entry_ids text[], p_ledger_accounts text[], p_amounts bigint[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    bad text;
    written integer;
BEGIN
    PERFORM 1 FROM ledger_accounts la
      WHERE la.id = ANY(p_ledger_accounts) AND la.account_id = p_account_id AND la.livemode = p_livemode
      ORDER BY la.id FOR UPDATE;
    SELECT u.la INTO bad FROM (SELECT DISTINCT x AS la FROM unnest(p_ledger_accounts) x) u
      LEFT JOIN ledger_accounts la ON la.id = u.la AND la.account_id = p_account_id AND la.livemode = p_livemode
     WHERE la.id IS NULL LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'posting to unknown ledger account %', bad USING ERRCODE = 'foreign_key_violation';
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_entries (id text PRIMARY KEY, kind text, reference text,
        description text, created timestamptz) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS ledger_bulk_postings (id text, entry_id text, ledger_account_id text,
        amount bigint) ON COMMIT DROP;
    TRUNCATE ledger_bulk_entries, ledger_bulk_postings;
    INSERT INTO ledger_bulk_entries SELECT * FROM unnest(e_ids, e_kinds, e_references, e_descriptions, e_created);
    INSERT INTO ledger_bulk_postings SELECT * FROM unnest(p_ids, p_entry_ids, p_ledger_accounts, p_amounts);
    ANALYZE ledger_bulk_entries;
    ANALYZE ledger_bulk_postings;

    SELECT p.entry_id INTO bad FROM ledger_bulk_postings p LEFT JOIN ledger_bulk_entries e ON e.id = p.entry_id
     WHERE e.id IS NULL LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'posting of entry % which is not in the batch', bad USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT e.id INTO bad FROM ledger_bulk_entries e
      LEFT JOIN (SELECT entry_id, count(*) AS n FROM ledger_bulk_postings GROUP BY entry_id) c ON c.entry_id = e.id
     WHERE coalesce(c.n, 0) < 2 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % needs at least two postings', bad USING ERRCODE = 'check_violation';
    END IF;
    SELECT p.entry_id || ' in ' || la.currency INTO bad
      FROM ledger_bulk_postings p JOIN ledger_accounts la ON la.id = p.ledger_account_id
     GROUP BY p.entry_id, la.currency HAVING sum(p.amount) <> 0 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance', bad USING ERRCODE = 'check_violation';
    END IF;
    SELECT f.ledger_account_id INTO bad
      FROM (SELECT p.ledger_account_id, min(e.created) AS first
              FROM ledger_bulk_postings p JOIN ledger_bulk_entries e ON e.id = p.entry_id
             GROUP BY p.ledger_account_id) f
     WHERE EXISTS (SELECT 1 FROM postings q WHERE q.account_id = p_account_id AND q.livemode = p_livemode
                      AND q.ledger_account_id = f.ledger_account_id AND q.created > f.first)
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger account % already has postings after the first one of this batch', bad
            USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO journal_entries (id, account_id, livemode, kind, reference, description, metadata, created)
    SELECT id, p_account_id, p_livemode, kind, reference, description, jsonb_build_object(), created FROM ledger_bulk_entries;

    PERFORM set_config('paydeck.ledger_bulk', 'on', true);
    WITH written_postings AS (
        INSERT INTO postings AS q (id, account_id, livemode, entry_id, ledger_account_id, currency, amount,
                                   balance_after, account_seq, created)
        SELECT p.id, p_account_id, p_livemode, p.entry_id, p.ledger_account_id, la.currency, p.amount,
               la.balance + sum(p.amount) OVER running, la.version + row_number() OVER running, e.created
          FROM ledger_bulk_postings p
          JOIN ledger_bulk_entries e ON e.id = p.entry_id
          JOIN ledger_accounts la ON la.id = p.ledger_account_id
        WINDOW running AS (PARTITION BY p.ledger_account_id ORDER BY e.created, p.id ROWS UNBOUNDED PRECEDING)
        RETURNING q.ledger_account_id, q.balance_after
    )
    SELECT w.ledger_account_id INTO bad FROM written_postings w
      JOIN ledger_accounts la ON la.id = w.ledger_account_id
     WHERE NOT la.allow_negative AND w.balance_after < 0 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger account % would go below zero', bad
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_accounts_non_negative';
    END IF;
    UPDATE ledger_accounts la SET balance = la.balance + d.total, version = la.version + d.n,
                                  created = least(la.created, d.first)
      FROM (SELECT p.ledger_account_id, sum(p.amount) AS total, count(*) AS n, min(e.created) AS first
              FROM ledger_bulk_postings p JOIN ledger_bulk_entries e ON e.id = p.entry_id
             GROUP BY p.ledger_account_id) d
     WHERE la.id = d.ledger_account_id;
    PERFORM set_config('paydeck.ledger_bulk', 'off', true);
    SELECT count(*) INTO written FROM ledger_bulk_postings;
    TRUNCATE ledger_bulk_entries, ledger_bulk_postings;
    RETURN written;
END $$""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="db", description=DESCRIPTION)

    async def run():
        from piccolo.table import Table

        class _Raw(Table, tablename="_raw"):  # only a handle to run SQL in the migration's transaction
            pass

        for statement in SQL:
            await _Raw.raw(statement)

    manager.add_raw(run)
    return manager
