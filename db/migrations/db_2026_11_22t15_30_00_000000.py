from db.migrations._raw import raw_migration

ID = "2026-11-22T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api request log: a table partitioned by day, and the search indexer's position"

# Raw SQL on purpose: Piccolo cannot declare a partitioned table, so this table
# has no Piccolo Table class and is read and written only by hand-written SQL
# in server/apilogs/queries.py (the drift check compares Piccolo tables only).
# The `search` column holds the words (runs of letters and digits) of the
# searchable fields, the same tokens the Meilisearch engine matches on.
# Daily partitions are created ahead of time by server/apilogs/partitions.py.
SQL = [
    "CREATE SEQUENCE api_request_logs_seq",
    """
    CREATE TABLE api_request_logs (
        id varchar(40) COLLATE "C" NOT NULL,
        seq bigint NOT NULL DEFAULT nextval('api_request_logs_seq'),
        account_id varchar(40) COLLATE "C" NOT NULL,
        livemode boolean NOT NULL,
        source varchar(16) NOT NULL DEFAULT 'api',
        user_id varchar(40),
        api_key_id varchar(40),
        api_key_type varchar(20),
        method varchar(10) NOT NULL,
        path varchar(500) COLLATE "C" NOT NULL,
        operation_name varchar(200),
        operation_type varchar(20),
        query_params jsonb NOT NULL DEFAULT jsonb_build_object(),
        request_headers jsonb NOT NULL DEFAULT jsonb_build_object(),
        request_body text NOT NULL DEFAULT '',
        status_code integer NOT NULL,
        response_headers jsonb NOT NULL DEFAULT jsonb_build_object(),
        response_body text NOT NULL DEFAULT '',
        error_type varchar(60),
        error_code varchar(80),
        error_message text,
        started_at timestamptz NOT NULL,
        duration_ms double precision NOT NULL,
        api_version varchar(20),
        idempotency_key varchar(255),
        idempotent_replayed boolean NOT NULL DEFAULT false,
        ip_address inet,
        object_ids text[] NOT NULL DEFAULT ARRAY[]::text[],
        ingested_at timestamptz NOT NULL DEFAULT now(),
        search tsvector GENERATED ALWAYS AS (
            to_tsvector('simple', regexp_replace(left(
                coalesce(id, '') || ' ' || path || ' ' || coalesce(operation_name, '') || ' ' ||
                coalesce(error_message, '') || ' ' || request_body || ' ' || response_body, 200000),
                '[^[:alnum:]]+', ' ', 'g'))
        ) STORED
    ) PARTITION BY RANGE (started_at)
    """,
    "CREATE INDEX api_request_logs_scope_id ON api_request_logs (account_id, livemode, id DESC)",
    "CREATE INDEX api_request_logs_account_started ON api_request_logs (account_id, started_at)",
    "CREATE INDEX api_request_logs_scope_status ON api_request_logs (account_id, livemode, status_code, id DESC)",
    "CREATE INDEX api_request_logs_scope_path ON api_request_logs (account_id, livemode, path, id DESC)",
    "CREATE INDEX api_request_logs_scope_key ON api_request_logs (account_id, livemode, api_key_id, id DESC)",
    "CREATE INDEX api_request_logs_scope_error ON api_request_logs (account_id, livemode, error_type, id DESC) "
    "WHERE error_type IS NOT NULL",
    "CREATE INDEX api_request_logs_scope_idem ON api_request_logs (account_id, livemode, idempotency_key) "
    "WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX api_request_logs_objects ON api_request_logs USING gin (object_ids)",
    "CREATE INDEX api_request_logs_search ON api_request_logs USING gin (search)",
    "CREATE INDEX api_request_logs_seq_idx ON api_request_logs (seq)",
    "CREATE INDEX api_request_logs_text_trgm ON api_request_logs USING gin "
    "((path || ' ' || coalesce(error_message, '') || ' ' || coalesce(operation_name, '')) gin_trgm_ops)",
    """
    CREATE TABLE search_index_positions (
        name varchar(60) PRIMARY KEY,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
]


forwards = raw_migration(ID, DESCRIPTION, SQL)
