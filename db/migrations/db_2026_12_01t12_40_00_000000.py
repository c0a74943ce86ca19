"""ledger: ledger_post_entries() leaves the schema: group commit is a benchmark (bench/ledger), not a product path."""

from db.migrations._raw import raw_migration

ID = "2026-12-01T12:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: drop ledger_post_entries(); the group-commit benchmark installs its own batch function"

# No ledger write of the product can share a batch's transaction: each commits with its transfer or credit
# row, its event, Radar's record and the Idempotency-Key's effect binding (docs/ledger.md, "Group commit").
# So the batch function is the benchmark's: bench/ledger/entries.py installs its set-wise version where the
# benchmark and its tests run, and the schema keeps no function without a caller.
SQL = [
    "DROP FUNCTION ledger_post_entries(text[], text[], boolean[], text[], text[], text[], text[], integer[], "
    "text[], text[], text[], bigint[])",
]

forwards = raw_migration(ID, DESCRIPTION, SQL)
