"""api request log: the batches the log writer stored, so a batch sent again is not stored twice."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api request log: stored batches, recorded in the COPY's transaction"

# A writer process that dies after its COPY committed and before it answered leaves the web process with a
# batch it believes unstored; it sends it again to a fresh writer process. The batch's id is recorded in the
# COPY's transaction and checked first (server/apilogs/queries.py claim_batch), so the second COPY does not
# happen. The ids are needed only for seconds; retention forgets those older than a day.
SQL = [
    'CREATE TABLE api_log_batches (id varchar(40) COLLATE "C" PRIMARY KEY, rows integer NOT NULL, '
    "stored_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX api_log_batches_stored_at ON api_log_batches (stored_at)",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
