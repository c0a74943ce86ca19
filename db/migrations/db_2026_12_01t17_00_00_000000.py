"""customers: a credit in one statement (customer_credit), with the ledger account and event functions it calls."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customers: customer_credit() makes a whole credit in one call; ledger_ensure_account(), event_emit()"

# A credit used to be six round trips (BEGIN, the customer's share lock, the credit row, the entry, the event,
# COMMIT); each costs the web process and PostgreSQL more CPU than the work it carries. customer_credit() does
# the same steps, in the same lock order, in one statement that commits on its own. What it refuses (no such
# customer, a closed one, a transaction_id used before) it reports as its outcome, having written nothing; what
# fails (a remembered ledger account id whose row is gone) fails the whole statement. Whether a new wallet or
# funding account may go negative comes from the caller (server/ledger/service.py PURPOSES, the one list).
#
# ledger_ensure_account() and event_emit() are the one definition of "the ledger account of (owner, purpose,
# currency), created on first use" and "record an event and notify at commit": the Python services call them
# too (server/ledger/queries.py ensure_account, server/events/queries.py insert), so the folded credit cannot
# drift from them.
SQL = [
    """
CREATE FUNCTION ledger_ensure_account(p_new_id text, p_account_id text, p_livemode boolean, p_owner_type text,
                                      p_owner_id text, p_purpose text, p_currency text, p_allow_negative boolean,
                                      p_created timestamptz)
RETURNS SETOF ledger_accounts
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM ledger_accounts la
     WHERE la.account_id = p_account_id AND la.livemode = p_livemode AND la.owner_id = p_owner_id
       AND la.purpose = p_purpose AND la.currency = p_currency;
    IF FOUND THEN
        RETURN;
    END IF;
    -- A concurrent first use may insert the same account: ON CONFLICT waits for it, and the SELECT below
    -- (a new snapshot: READ COMMITTED, a volatile function) then sees whichever row won.
    INSERT INTO ledger_accounts (id, account_id, livemode, owner_type, owner_id, purpose, currency, allow_negative,
                                 balance, version, created)
    VALUES (p_new_id, p_account_id, p_livemode, p_owner_type, p_owner_id, p_purpose, p_currency, p_allow_negative,
            0, 0, p_created)
    ON CONFLICT (account_id, livemode, owner_id, purpose, currency) DO NOTHING;
    RETURN QUERY SELECT * FROM ledger_accounts la
     WHERE la.account_id = p_account_id AND la.livemode = p_livemode AND la.owner_id = p_owner_id
       AND la.purpose = p_purpose AND la.currency = p_currency;
END $$""",
    """
CREATE FUNCTION event_emit(p_id text, p_account_id text, p_livemode boolean, p_type text, p_object_type text,
                           p_object_id text, p_data jsonb, p_request_id text, p_idempotency_key text,
                           p_created timestamptz, p_channel text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (id, account_id, livemode, type, object_type, object_id, data, request_id, idempotency_key,
                        created)
    VALUES (p_id, p_account_id, p_livemode, p_type, p_object_type, p_object_id, p_data, p_request_id,
            p_idempotency_key, p_created);
    PERFORM pg_notify(p_channel, p_id);  -- delivered at commit, never for a rolled-back event
END $$""",
    """
CREATE FUNCTION customer_credit(p_credit_id text, p_account_id text, p_livemode boolean, p_customer_id text,
                                p_transaction_id text, p_amount bigint, p_currency text, p_entry_id text,
                                p_created timestamptz, p_wallet text, p_funding text, p_new_wallet text,
                                p_new_funding text, p_wallet_negative boolean, p_funding_negative boolean,
                                p_kind text, p_posting_ids text[],
                                -- the event, as event_emit() takes it; its data gets the balance after
                                e_id text, e_account_id text, e_livemode boolean, e_type text, e_object_type text,
                                e_object_id text, e_data jsonb, e_request_id text, e_idempotency_key text,
                                e_created timestamptz, e_channel text)
RETURNS TABLE (outcome text, balance bigint, wallet_id text, funding_id text)
LANGUAGE plpgsql AS $$
DECLARE
    customer_status text;
    wallet text := p_wallet;
    funding text := p_funding;
    new_balance bigint;
BEGIN
    SELECT c.status INTO customer_status FROM customers c
     WHERE c.id = p_customer_id AND c.account_id = p_account_id AND c.livemode = p_livemode FOR SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_customer', NULL::bigint, NULL::text, NULL::text;
        RETURN;
    ELSIF customer_status = 'closed' THEN
        RETURN QUERY SELECT 'customer_closed', NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;
    -- A concurrent credit with the same transaction_id makes this wait for it, then do nothing.
    INSERT INTO credits (id, account_id, livemode, customer_id, transaction_id, amount, currency, entry_id, created)
    VALUES (p_credit_id, p_account_id, p_livemode, p_customer_id, p_transaction_id, p_amount, p_currency,
            p_entry_id, p_created)
    ON CONFLICT (account_id, livemode, transaction_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'duplicate_transaction', NULL::bigint, NULL::text, NULL::text;
        RETURN;
    END IF;
    IF wallet IS NULL THEN  -- a customer's wallet is created by its first credit, once the customer is known
        SELECT la.id INTO wallet FROM ledger_ensure_account(p_new_wallet, p_account_id, p_livemode, 'customer',
            p_customer_id, 'customer_wallet', p_currency, p_wallet_negative, p_created) la;
    END IF;
    IF funding IS NULL THEN
        SELECT la.id INTO funding FROM ledger_ensure_account(p_new_funding, p_account_id, p_livemode, 'merchant',
            p_account_id, 'funding', p_currency, p_funding_negative, p_created) la;
    END IF;
    -- No metadata: jsonb_build_object(), as braces in a raw migration are Piccolo's placeholders.
    SELECT e.balance_after INTO new_balance
      FROM ledger_post_entry(p_entry_id, p_account_id, p_livemode, p_kind, p_transaction_id, '',
                             jsonb_build_object(), p_posting_ids, ARRAY[funding, wallet], ARRAY[p_currency, p_currency],
                             ARRAY[-p_amount, p_amount]) e
     WHERE e.ledger_account_id = wallet;
    -- 'current_balance' is credit_json's name for it (server/customers/serial.py); a test holds them together.
    PERFORM event_emit(e_id, e_account_id, e_livemode, e_type, e_object_type, e_object_id,
                       e_data || jsonb_build_object('current_balance', new_balance), e_request_id,
                       e_idempotency_key, e_created, e_channel);
    RETURN QUERY SELECT 'credited', new_balance, wallet, funding;
END $$""",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
