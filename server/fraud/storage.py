"""How an evaluation's signals are stored: one JSONB object per evaluation, with short keys for velocity.

A backtest reads every stored evaluation of its period, so the width of a row is its cost.
With the catalogue's names as keys an object weighs about 4.7 kB: PostgreSQL compresses it
(pglz), and a backtest then spends its time decompressing. Velocity signals are 80 of the 100
names and the longest (`ip_address_count_for_customer_weekly`), so they are stored under short
keys built from the same two tables the catalogue builds their names from:

    charge_attempts_per_card_minutely       ->  n.card.1m
    amount_in_usd_per_ip_address_daily      ->  usd.ip.1d
    card_count_for_ip_address_hourly        ->  card.ip.1h   (distinct cards seen with one IP)

Every other signal keeps its catalogue name. The object then weighs about 2 kB and is stored
inline and uncompressed (the table's `toast_tuple_target` is raised for it; see the migration),
which a backtest reads about three times faster (docs/fraud.md, "Backtests").

Values keep their JSON types (numbers, booleans, strings), as `Rule.to_sql` casts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from server.fraud.signals import (
    CATALOGUE,
    VELOCITY_KEYS,
    VELOCITY_WINDOWS,
    amount_signal,
    attempts_signal,
    distinct_signal,
)

KIND_CODES: Mapping[str, str] = MappingProxyType(
    {"card": "card", "customer": "cus", "email": "email", "ip_address": "ip"})
WINDOW_CODES: Mapping[str, str] = MappingProxyType(
    {"minutely": "1m", "hourly": "1h", "daily": "1d", "weekly": "7d"})


def _velocity_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for key in VELOCITY_KEYS:
        kind = KIND_CODES[key.kind]
        for window in VELOCITY_WINDOWS:
            suffix = WINDOW_CODES[window.suffix]
            keys[attempts_signal(key.kind, window.suffix)] = f"n.{kind}.{suffix}"
            keys[amount_signal(key.kind, window.suffix)] = f"usd.{kind}.{suffix}"
            for other in VELOCITY_KEYS:
                if other.kind != key.kind:
                    short = f"{KIND_CODES[other.kind]}.{kind}.{suffix}"
                    keys[distinct_signal(other.kind, key.kind, window.suffix)] = short
    return keys


STORED_KEY: Mapping[str, str] = MappingProxyType({name: name for name in CATALOGUE} | _velocity_keys())
NAME_OF: Mapping[str, str] = MappingProxyType({key: name for name, key in STORED_KEY.items()})


def to_stored(signals: Mapping[str, Any]) -> dict[str, Any]:
    """The signals as stored: catalogue signals only, under their stored keys; missing ones left out."""
    return {STORED_KEY[name]: value for name, value in signals.items() if name in STORED_KEY and value is not None}


def from_stored(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Back to catalogue names (keys we do not know, from a later version, are left out)."""
    return {NAME_OF[key]: value for key, value in stored.items() if key in NAME_OF}


def column_for(column: str) -> Callable[[str], str]:
    """`column_for_attr` of `Rule.to_sql`: the stored signal as text, e.g. `signals->>'n.card.1h'`."""
    return lambda name: f"{column}->>'{STORED_KEY[name]}'"
