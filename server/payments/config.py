"""Settings of payments and the processor (documented in docs/payments.md)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYDECK_", extra="ignore")

    processor_url: str | None = None  # unset: `paydeck run` starts the built-in simulator
    processor_timeout_seconds: float = Field(default=10.0, gt=0)
    processor_timeout_delay: float = Field(default=30.0, ge=0)  # how late the simulator's timeout card answers
    processor_latency_ms: float = Field(default=0.0, ge=0)
    reconcile_after_seconds: float = Field(default=30.0, ge=0)
    authorization_days: int = Field(default=7, ge=1)


@lru_cache
def payment_settings() -> PaymentSettings:
    return PaymentSettings()
