from db.migrations._raw import raw_migration

ID = "2026-11-30T16:20:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "reporting: run states, the pending queue, one statement per month, file chunks, payments by time"

SQL = [
    'ALTER TABLE report_runs ALTER COLUMN id TYPE varchar(40) COLLATE "C"',
    "ALTER TABLE report_runs ADD CONSTRAINT report_runs_status "
    "CHECK (status IN ('pending', 'succeeded', 'failed'))",
    "ALTER TABLE report_runs ADD CONSTRAINT report_runs_interval CHECK (interval_end > interval_start)",
    # Lists: an account's runs of one mode, newest first (keyset on the time-sortable id).
    "CREATE INDEX report_runs_scope_id ON report_runs (account_id, livemode, id DESC)",
    # The workers' queue: pending runs, oldest first.
    "CREATE INDEX report_runs_pending ON report_runs (created) WHERE status = 'pending'",
    # Exactly one statement of each type per account, mode and month, however many workers make them.
    "CREATE UNIQUE INDEX report_runs_statement ON report_runs (account_id, livemode, report_type, statement_month) "
    "WHERE statement_month IS NOT NULL",
    'ALTER TABLE report_file_chunks ALTER COLUMN run_id TYPE varchar(40) COLLATE "C"',
    "CREATE UNIQUE INDEX report_file_chunks_run_seq ON report_file_chunks (run_id, seq)",
    # payments.itemized and the payments export read a range of creation times.
    "CREATE INDEX payment_intents_scope_created ON payment_intents (account_id, livemode, created)",
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
