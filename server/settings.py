"""One typed settings object, read from the environment.

Every setting is documented in README.md ("Settings"); keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field
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

    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    db_pool_min: int = 2
    db_pool_max: int = 20

    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=24, ge=1)
    cookie_secure: bool | None = None
    login_attempts_per_15min: int = Field(default=10, ge=1)
    login_attempts_per_ip_15min: int = Field(default=100, ge=1)

    api_rate_limit_per_second: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=5000, ge=100)

    allow_private_webhook_urls: bool = False
    run_workers: bool = True
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    drain_seconds: float = Field(default=0.0, ge=0)

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies unless explicitly relaxed or serving plain-http localhost."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        url = urlsplit(self.public_url)
        return not (url.scheme == "http" and url.hostname in LOCAL_HOSTS)


@lru_cache
def get_settings() -> Settings:
    return Settings()
