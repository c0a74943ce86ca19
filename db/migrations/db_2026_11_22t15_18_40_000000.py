from db.migrations._raw import raw_migration

ID = "2026-11-22T15:18:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger invariants in the database; customers, transfers, idempotency indexes"

# The ledger's rules hold even for SQL that bypasses Python:
# - a posting is applied to its ledger account by a trigger (the only way a
#   balance changes); a direct UPDATE of a balance is refused;
# - a ledger account that may not go negative cannot (check constraint);
# - the postings of an entry sum to zero per currency, checked at COMMIT by a
#   deferred constraint trigger;
# - postings and journal entries are never updated; only test-mode rows may be
#   deleted ("delete all test data").
SQL = [
    *[f'ALTER TABLE {t} ALTER COLUMN id TYPE varchar(40) COLLATE "C"' for t in (
        "ledger_accounts", "journal_entries", "postings", "fx_rates", "customers", "credits", "transfers",
        "idempotency_keys")],
    'ALTER TABLE postings ALTER COLUMN entry_id TYPE varchar(40) COLLATE "C"',
    'ALTER TABLE postings ALTER COLUMN ledger_account_id TYPE varchar(40) COLLATE "C"',
    "CREATE UNIQUE INDEX ledger_accounts_owner ON ledger_accounts "
    "(account_id, livemode, owner_id, purpose, currency)",
    "CREATE INDEX journal_entries_scope_id ON journal_entries (account_id, livemode, id DESC)",
    "CREATE INDEX postings_scope_entry ON postings (account_id, livemode, entry_id)",
    "CREATE INDEX postings_scope_account_id ON postings (account_id, livemode, ledger_account_id, id DESC)",
    "CREATE INDEX postings_scope_account_created ON postings "
    "(account_id, livemode, ledger_account_id, created DESC, account_seq DESC)",
    "CREATE UNIQUE INDEX fx_rates_pair ON fx_rates (account_id, livemode, base, quote)",
    "CREATE INDEX customers_scope_id ON customers (account_id, livemode, id DESC)",
    "CREATE INDEX customers_scope_email ON customers (account_id, livemode, lower(email))",
    "CREATE INDEX customers_search ON customers USING gin "
    "((coalesce(email, '') || ' ' || name || ' ' || id) gin_trgm_ops)",
    "CREATE UNIQUE INDEX credits_transaction ON credits (account_id, livemode, transaction_id)",
    "CREATE INDEX credits_scope_customer ON credits (account_id, livemode, customer_id, id DESC)",
    "CREATE INDEX transfers_scope_id ON transfers (account_id, livemode, id DESC)",
    "CREATE UNIQUE INDEX idempotency_keys_key ON idempotency_keys (account_id, livemode, key)",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created)",
    "ALTER TABLE customers ADD CONSTRAINT customers_status_valid CHECK (status IN ('active','suspended','closed'))",
    "ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_non_negative CHECK (allow_negative OR balance >= 0)",
    "ALTER TABLE postings ADD CONSTRAINT postings_amount_nonzero CHECK (amount <> 0)",
    "ALTER TABLE credits ADD CONSTRAINT credits_amount_positive CHECK (amount > 0)",
    "ALTER TABLE transfers ADD CONSTRAINT transfers_amount_positive CHECK (amount > 0 AND to_amount > 0)",
    """
CREATE FUNCTION ledger_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_accounts SET balance = balance + NEW.amount, version = version + 1
     WHERE id = NEW.ledger_account_id AND account_id = NEW.account_id AND livemode = NEW.livemode
       AND currency = NEW.currency
     RETURNING balance, version INTO NEW.balance_after, NEW.account_seq;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'posting to unknown ledger account % in %', NEW.ledger_account_id, NEW.currency
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.created := clock_timestamp();
    RETURN NEW;
END $$""",
    "CREATE TRIGGER postings_apply BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting()",
    """
CREATE FUNCTION ledger_guard_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.currency IS DISTINCT FROM OLD.currency) AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger balances change only through postings' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$""",
    "CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE ON ledger_accounts FOR EACH ROW "
    "EXECUTE FUNCTION ledger_guard_balance()",
    """
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad text;
BEGIN
    SELECT currency INTO bad FROM postings
     WHERE account_id = NEW.account_id AND livemode = NEW.livemode AND entry_id = NEW.entry_id
     GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', NEW.entry_id, bad
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$""",
    "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()",
    """
CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT OLD.livemode THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is immutable: record a correcting entry instead', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$""",
    "CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings FOR EACH ROW "
    "EXECUTE FUNCTION ledger_immutable()",
    "CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries FOR EACH ROW "
    "EXECUTE FUNCTION ledger_immutable()",
    # One round trip per entry: lock the ledger accounts in id order (no deadlocks), write the
    # entry and its postings; the triggers above apply and check them.
    """
CREATE FUNCTION ledger_post_entry(p_entry_id text, p_account_id text, p_livemode boolean, p_kind text,
                                  p_reference text, p_description text, p_metadata jsonb,
                                  p_posting_ids text[], p_ledger_accounts text[], p_currencies text[],
                                  p_amounts bigint[])
RETURNS TABLE (ledger_account_id text, currency text, amount bigint, balance_after bigint)
LANGUAGE plpgsql AS $$
DECLARE locked int;
BEGIN
    SELECT count(*) INTO locked FROM (
        SELECT la.id FROM ledger_accounts la
         WHERE la.id = ANY(p_ledger_accounts) AND la.account_id = p_account_id AND la.livemode = p_livemode
         ORDER BY la.id FOR UPDATE) l;
    IF locked <> (SELECT count(DISTINCT x) FROM unnest(p_ledger_accounts) x) THEN
        RAISE EXCEPTION 'unknown ledger account in entry %', p_entry_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO journal_entries (id, account_id, livemode, kind, reference, description, metadata, created)
    VALUES (p_entry_id, p_account_id, p_livemode, p_kind, p_reference, p_description, p_metadata, clock_timestamp());
    RETURN QUERY
    INSERT INTO postings AS p (id, account_id, livemode, entry_id, ledger_account_id, currency, amount,
                               balance_after, account_seq, created)
    SELECT u.pid, p_account_id, p_livemode, p_entry_id, u.la, u.cur, u.amt, 0, 0, clock_timestamp()
      FROM unnest(p_posting_ids, p_ledger_accounts, p_currencies, p_amounts) AS u(pid, la, cur, amt)
     ORDER BY u.la
    RETURNING p.ledger_account_id::text, p.currency::text, p.amount, p.balance_after;
END $$""",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
