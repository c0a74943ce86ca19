"""One typed settings object, read from the environment.

Every setting is documented in README.md ("Settings"); keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYDECK_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PAYDECK_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "PAYDECK_REDIS_URL")
    )
    meili_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MEILI_URL", "PAYDECK_MEILI_URL")
    )
    meili_key: str | None = Field(
        default=None, validation_alias=AliasChoices("MEILI_MASTER_KEY", "PAYDECK_MEILI_KEY")
    )

    data_dir: Path = Path(".data")  # made absolute once, when the settings are read (see below)
    host: str = "127.0.0.1"
    port: int = 8000
    processes: int = Field(default=0, ge=0)  # web processes sharing the port; 0: one per core (server/webpool.py)
    public_url: str | None = None  # unset: the served host (server.urls)
    db_pool_min: int = 2
    db_pool_max: int = 20
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)  # waiting longer for a connection: 503
    # Read replicas (server/replicas/router.py): comma-separated PostgreSQL URLs, and how stale a read may be.
    read_replica_urls: str | None = None
    replica_max_lag_ms: int = Field(default=1000, ge=0)
    replicas: int = Field(default=0, ge=0, le=8)  # embedded streaming replicas of `paydeck run` (--replicas)

    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=24, ge=1)
    cookie_secure: bool | None = None
    login_attempts_per_15min: int = Field(default=10, ge=1)
    login_attempts_per_ip_15min: int = Field(default=100, ge=1)
    password_hash_cost: Literal["rfc9106", "cheapest"] = "rfc9106"  # "cheapest": the test suite only

    api_rate_limit_per_second: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=5000, ge=100)
    # GraphQL subscriptions over graphql-transport-ws served by server/gql/live_ws.py (false: Strawberry's handler)
    graphql_live_ws: bool = True

    event_retention_days: int = Field(default=30, ge=1, le=3650)
    event_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    max_live_connections: int = Field(default=10_000, ge=1)  # per process: SSE streams + GraphQL WebSockets
    # A live connection's heartbeat (an SSE keep-alive comment, a WebSocket ping) every this many seconds; data
    # unacknowledged (TCP_USER_TIMEOUT) or a ping unanswered for live_dead_after_seconds ends it: half-open ones
    # (a laptop closed, a network gone) are reaped within heartbeat + dead_after (55 s by default).
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    live_dead_after_seconds: float = Field(default=40.0, ge=1, le=600)

    allow_private_webhook_urls: bool = False
    run_workers: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (server/logs.py)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    drain_seconds: float = Field(default=0.0, ge=0)
    # An idle keep-alive connection stays open this long. Longer than the clients' own idle limits (Caddy's
    # upstream pool: 120 s, Go's: 90 s, httpx's: 5 s), so the client closes first: a server that closes first
    # races the client's next request on that connection, which then fails unserved (a 502 behind a proxy).
    keep_alive_seconds: int = Field(default=130, ge=1)
    metrics_token: str | None = None  # /metrics wants `Authorization: Bearer <token>`; unset: loopback only

    # API request log (docs/apilogs.md lists these).
    apilog_enabled: bool = True
    apilog_body_max_bytes: int = Field(default=16_384, ge=256)
    apilog_flush_interval_seconds: float = Field(default=0.5, gt=0, le=1.0)
    apilog_batch_size: int = Field(default=5_000, ge=1)
    apilog_buffer_max: int = Field(default=200_000, ge=100)
    apilog_partitions_ahead_days: int = Field(default=3, ge=1, le=60)
    apilog_retention_interval_seconds: float = Field(default=300.0, gt=0)
    apilog_index_interval_seconds: float = Field(default=1.0, gt=0)
    search_engine: Literal["auto", "postgres", "meilisearch"] = "auto"
    meili_index: str = "api_request_logs"

    # Payments and the card processor (docs/payments.md).
    processor_url: str | None = None  # unset: `paydeck run` starts the built-in simulator
    processor_timeout_seconds: float = Field(default=10.0, gt=0)
    processor_timeout_delay: float = Field(default=30.0, ge=0)  # how late the simulator's timeout card answers
    processor_latency_ms: float = Field(default=0.0, ge=0)
    reconcile_after_seconds: float = Field(default=30.0, ge=0)
    authorization_days: int = Field(default=7, ge=1)
    dispute_sync_seconds: float = Field(default=2.0, gt=0, le=3600)  # how often disputes are read from the processor
    dispute_decision_seconds: float = Field(default=5.0, ge=0)  # how long the simulator takes to decide evidence
    # Radar (docs/fraud.md): off only as the reference of the cost-of-risk benchmark.
    risk_enabled: bool = True
    radar_alert_block_rate: float = Field(default=0.2, gt=0, le=1)
    radar_alert_min_evaluations: int = Field(default=20, ge=1)
    demo_rate: float = Field(default=0.5, ge=0)  # actions/s of `paydeck run --demo` demo traffic

    # Seller benchmarks (docs/benchmarks.md): every privacy parameter of a release, with its default.
    benchmark_k_quartiles: int = Field(default=500, ge=2)  # a cohort this large (DP count) gets p25/p50/p75
    benchmark_k_median: int = Field(default=100, ge=1)  # ... this large the median only; smaller: suppressed
    benchmark_epsilon_count: float = Field(default=0.1, gt=0, le=10)  # the DP size count, per cohort and month
    benchmark_epsilon_per_quartile: float = Field(default=0.16, gt=0, le=10)
    benchmark_epsilon_median: float = Field(default=0.48, gt=0, le=10)
    benchmark_monthly_epsilon_cap: float = Field(default=3.0, gt=0, le=100)  # per seller, per month
    benchmark_release_delay_hours: float = Field(default=24.0, ge=0, le=24 * 27)  # after a month ends
    benchmark_interval_seconds: float = Field(default=3600.0, gt=0)  # how often the job looks for a closed month

    # Test-only: honour the Paydeck-Test-Fault header (server/faults.py). Never on in production.
    test_faults: bool = False

    @model_validator(mode="after")
    def _cohort_sizes_in_order(self) -> Settings:
        if self.benchmark_k_quartiles <= self.benchmark_k_median:
            raise ValueError("PAYDECK_BENCHMARK_K_QUARTILES must be larger than PAYDECK_BENCHMARK_K_MEDIAN")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Resolved once, against the directory we were started in: embedded PostgreSQL and the
        # other servers change directory, and a relative path would then point elsewhere.
        return value.expanduser().resolve()

    def replica_urls(self) -> list[str]:
        return [url.strip() for url in (self.read_replica_urls or "").split(",") if url.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
