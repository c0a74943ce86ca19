"""Accounts, users, login, settings and test-data deletion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel.numbers import get_currency_name

from server import clock, db, validation
from server.accounts import business, queries
from server.accounts.passwords import hash_password, verify_password
from server.audit import queries as audit_queries
from server.audit import service as audit
from server.context import RequestContext, Scope
from server.errors import AuthenticationFailed, ErrorCode, InvalidRequest, NotFound, RateLimited
from server.ids import new_id
from server.keys import service as keys
from server.ledger import service as ledger
from server.permissions import Role, read, write
from server.ratelimit import blocked, hit
from server.settings import get_settings

MIN_PASSWORD = 10
ZONES = cache(available_timezones)  # it reads the time zone folder on every call
# Tables whose test-mode rows survive "delete all test data".
KEPT_ON_TEST_DATA_DELETE = {"api_keys", "audit_log", "privacy_budget_ledger"}


@dataclass
class NewAccount:
    account: dict[str, Any]
    user: dict[str, Any]
    keys: dict[str, str]  # e.g. {"secret_test": "sk_test_…"}


def normalise_email(email: object, param: str = "email") -> str:
    """A login email: checked, trimmed and lower-cased (one user per address, whatever its case)."""
    return validation.email(email, param).lower()


def check_password(password: str, param: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"password must be at least {MIN_PASSWORD} characters", param=param)
    if len(password) > 1024:
        raise InvalidRequest("password must be at most 1024 characters", param=param)


async def create_account(name: str, email: str, password: str, **settings: Any) -> NewAccount:
    """A new account with its owner and a secret and publishable key per mode."""
    email = normalise_email(email)
    name = (name or "").strip() or email.split("@")[0]
    clean = validate_settings({"name": name, **settings})
    async with db.transaction():
        user = await existing_or_new_user(email, password, "", InvalidRequest(
            "a user with this email exists; give their password to add an account", param="password"))
        account = {"id": new_id("acct"), "created": clock.now(), **clean}
        await queries.insert_account(account)
        await queries.insert_membership({"id": new_id("mem"), "account_id": account["id"], "user_id": user["id"],
                                         "role": Role.OWNER.value, "created": clock.now()})
        await audit.record(None, account["id"], "account.created", "account", account["id"],
                           {"owner": email, "name": name})
        issued: dict[str, str] = {}
        for livemode in (False, True):
            scope = Scope(account["id"], livemode)
            for kind in ("secret", "publishable"):
                created = await keys.issue(scope, kind, f"Default {kind} key", created_by=user["id"])
                issued[f"{kind}_{scope.mode}"] = created.token
    return NewAccount(account, user, issued)


@dataclass(frozen=True)
class SellerAccount:
    """A seller of the demo marketplace: an account with no login (another merchant of the installation)."""

    name: str
    category: str
    country: str
    default_currency: str
    timezone: str


SELLER_COLUMNS = ("id", "name", "category", "country", "default_currency", "timezone", "fee_percent_bps",
                  "fee_fixed_minor", "log_retention_days", "created")


async def create_sellers(sellers: list[SellerAccount], created: datetime) -> list[str]:
    """Seller accounts in bulk (no owner, no keys, default pricing), settings validated; their ids, in order."""
    rows = []
    for seller in sellers:
        clean = validate_settings({"name": seller.name, "category": seller.category, "country": seller.country,
                                   "default_currency": seller.default_currency, "timezone": seller.timezone})
        rows.append((new_id("acct", int(created.timestamp() * 1000)), clean["name"], clean["category"],
                     clean["country"], clean["default_currency"], clean["timezone"], 290, 30, 30, created))
    await queries.copy_accounts(SELLER_COLUMNS, rows)
    return [row[0] for row in rows]


async def existing_or_new_user(email: str, password: str, name: str, wrong_password: Exception) -> dict[str, Any]:
    """The user with `email`, created with `password` if there is none; else the password must match."""
    user = await queries.user_by_email(email)
    if user is None:
        check_password(password)
        candidate = {"id": new_id("user"), "email": email, "name": name.strip()[:200],
                     "password_hash": await hash_password(password), "created": clock.now()}
        user = await queries.insert_user_if_absent(candidate)
        if user["id"] == candidate["id"]:
            return user
    if not await verify_password(user["password_hash"], password):
        raise wrong_password
    return user


async def login(email: str, password: str, ip: str) -> dict[str, Any]:
    """Check a login. Failed attempts are limited per email and per IP; successes don't count,
    so a busy office behind one address is not locked out by its own logins."""
    email_key = (email or "").strip().lower()[:320]
    settings = get_settings()
    limits = [(f"login:email:{email_key}", settings.login_attempts_per_15min),
              (f"login:ip:{ip}", settings.login_attempts_per_ip_15min)]
    for bucket, limit in limits:
        if (wait := await blocked(bucket, limit, 900)) is not None:
            raise RateLimited("too many failed login attempts; try again later", retry_after=wait)
    user = await queries.user_by_email(email_key) if email_key else None
    if not await verify_password(user["password_hash"] if user else None, password or ""):
        for bucket, limit in limits:
            await hit(bucket, limit, 900)
        raise AuthenticationFailed("incorrect email or password", code=ErrorCode.INVALID_CREDENTIALS)
    assert user is not None
    await queries.set_last_login(user["id"])
    return user


async def account_for(ctx: RequestContext) -> dict[str, Any]:
    scope = ctx.require(read("account"))
    row = await queries.account(scope.account_id)
    if row is None:
        raise NotFound("account not found")
    return row


SETTING_FIELDS = ("name", "category", "country", "default_currency", "timezone", "fee_percent_bps",
                  "fee_fixed_minor", "dispute_fee_minor", "log_retention_days")


def validate_settings(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SETTING_FIELDS:
            raise InvalidRequest(f"unknown setting '{key}'", param=key)
        if value is None:
            continue
        if key == "name":
            value = str(value).strip()
            if not 1 <= len(value) <= 200:
                raise InvalidRequest("name must be 1 to 200 characters", param=key)
        elif key == "category":
            value = str(value).strip()
            if value not in business.CATEGORIES:
                raise InvalidRequest(f"unknown category '{value[:80]}': one of {', '.join(business.CATEGORIES)}",
                                     param=key)
        elif key == "country":
            value = str(value).strip().upper()
            if not business.is_country(value):
                raise InvalidRequest(f"unknown country '{value[:10]}': a two-letter ISO 3166-1 code such as US or DE",
                                     param=key)
        elif key == "default_currency":
            value = str(value).upper()
            if not re.fullmatch(r"[A-Z]{3}", value) or get_currency_name(value) == value:
                raise InvalidRequest(f"unknown currency '{value}'", param=key)
        elif key == "timezone":
            if value not in ZONES():
                raise InvalidRequest(f"unknown time zone '{value}'", param=key)
        elif key == "fee_percent_bps":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2000:
                raise InvalidRequest("fee_percent_bps must be an integer from 0 to 2000 (20%)", param=key)
        elif key == "fee_fixed_minor":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100_000:
                raise InvalidRequest("fee_fixed_minor must be an integer from 0 to 100000", param=key)
        elif key == "dispute_fee_minor":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100_000:
                raise InvalidRequest("dispute_fee_minor must be an integer from 0 to 100000", param=key)
        elif key == "log_retention_days":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 400:
                raise InvalidRequest("log_retention_days must be an integer from 1 to 400", param=key)
        clean[key] = value
    return clean


async def update_settings(ctx: RequestContext, values: dict[str, Any]) -> dict[str, Any]:
    scope = ctx.require(write("settings"))
    clean = validate_settings(values)
    async with db.transaction():
        before = await queries.account(scope.account_id)
        assert before is not None
        changed = {k: v for k, v in clean.items() if before.get(k) != v}
        if not changed:
            return before
        after = await queries.update_account_returning(scope.account_id, changed)
        await audit.record(ctx, scope.account_id, "settings.changed", "account", scope.account_id,
                           {k: {"from": before.get(k), "to": v} for k, v in changed.items()})
    return after


def test_mode_tables() -> list[str]:
    from db.piccolo_app import APP_CONFIG

    names = []
    for table in APP_CONFIG.table_classes:
        cols = {c._meta.name for c in table._meta.columns}
        if {"account_id", "livemode"} <= cols and table._meta.tablename not in KEPT_ON_TEST_DATA_DELETE:
            names.append(table._meta.tablename)
    return sorted(names)


async def delete_test_data(ctx: RequestContext, confirm: str) -> dict[str, int]:
    """Remove every test-mode object of the account (keys and the audit log stay).

    `confirm` must be `DELETE`; it is checked after the permission, so a user
    without it learns nothing from the confirmation step.
    """
    scope = ctx.require(write("test_data"))
    if confirm != "DELETE":
        raise InvalidRequest("type DELETE to confirm", param="confirm")

    async def delete_all() -> dict[str, int]:
        counts: dict[str, int] = {}
        async with db.transaction():
            for table in test_mode_tables():
                counts[table] = await queries.delete_test_rows(table, scope.account_id)
            db.after_commit(ledger.forget_accounts)  # other processes find out from their next posting (server/ledger)
            await audit.record(ctx, scope.account_id, "test_data.deleted", "account", scope.account_id, counts,
                               False)
        return counts

    # Tables go in name order, and a writer of the same account may lock them in another: the analytics
    # follower adds to an account's rollups, then saves its facts (analytics_facts comes first by name). When
    # the two meet, PostgreSQL ends one of them; if it is this one, it runs again.
    return await db.deadlock_retried(delete_all)


async def audit_page(ctx: RequestContext, after: str | None, limit: int) -> list[dict[str, Any]]:
    scope = ctx.require(read("audit_log"))
    return await audit_queries.page(scope.account_id, after, limit)
