"""Report runs (Stripe's model: ask for a report, a background job makes its CSV) and their files.

- `ReportRun`: one report asked for, with its parameters (interval in a time zone, optional currency), its
  status (`pending` → `succeeded` | `failed`), progress while it runs, and a statement month when the
  monthly statements job made it. A worker claims a pending run with SKIP LOCKED and a lease; the file
  and the status change commit together, so a run succeeds once or not at all.
- `ReportFileChunk`: the CSV of a succeeded run, in chunks of about 1 MiB (streamed in, streamed out).

Constraints, indexes and byte-wise ids are in the raw migration `db/migrations/db_2026_11_30t17_00_10_000000.py`.
"""

from piccolo.columns import BigInt, BigSerial, Boolean, Bytea, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class ReportRun(Table, tablename="report_runs"):
    id = Varchar(length=40, primary_key=True)  # frr_…
    account_id = Varchar(length=40)
    livemode = Boolean()
    report_type = Varchar(length=60)
    interval_start = Timestamptz()
    interval_end = Timestamptz()
    timezone = Varchar(length=64)
    currency = Varchar(length=3, null=True, default=None)  # None: every currency
    status = Varchar(length=20, default="pending")  # pending | succeeded | failed
    error = Text(null=True, default=None)  # why it failed, for people
    rows_done = BigInt(default=0)  # progress while it runs
    rows_total = BigInt(null=True, default=None)
    attempts = Integer(default=0)  # claims so far; a claim whose lease ran out is retried
    lease_until = Timestamptz(null=True, default=None)
    result_rows = BigInt(null=True, default=None)
    result_bytes = BigInt(null=True, default=None)
    statement_month = Date(null=True, default=None)  # the month of a monthly statement, local to `timezone`
    requested_by = Varchar(length=60, null=True, default=None)  # user or API key id; None: the statements job
    created = Timestamptz()
    started = Timestamptz(null=True, default=None)
    finished = Timestamptz(null=True, default=None)


class ReportFileChunk(Table, tablename="report_file_chunks"):
    id = BigSerial(primary_key=True)  # (run_id, seq) is the key that matters: a unique index
    run_id = Varchar(length=40)
    account_id = Varchar(length=40)
    livemode = Boolean()
    seq = Integer()
    data = Bytea()
