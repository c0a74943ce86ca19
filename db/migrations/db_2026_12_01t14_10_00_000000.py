"""api request log: the search words are computed by the log writer, no longer a generated column."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api request log: search words written by the log writer instead of a generated column"

# The generated `search` column tokenised both bodies with a regexp on every row of every COPY, which cut
# PostgreSQL's rate into the table by half (BENCHMARKS.md "API request logs", 2026-12-01). The writer now
# computes the same words (server/apilogs/records.py search_lexemes) and COPYs them; stored rows keep theirs.
SQL = [
    "ALTER TABLE api_request_logs ALTER COLUMN search DROP EXPRESSION",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
