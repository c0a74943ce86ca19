"""SQL for accounts, users, memberships and invitations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server import db


async def account(account_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM accounts WHERE id = $1", account_id)


async def user_by_email(email: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM users WHERE email = $1", email.lower())


async def user(user_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def membership(account_id: str, user_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM memberships WHERE account_id = $1 AND user_id = $2", account_id, user_id)


async def member_of(account_id: str, user_id: str) -> dict[str, Any] | None:
    """The user and their role in the account, in one query (every dashboard request asks)."""
    return await db.fetchrow(
        "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.account_id = $1 AND m.user_id = $2", account_id, user_id)


async def memberships_of_user(user_id: str) -> list[dict[str, Any]]:
    return await db.fetch(
        "SELECT m.account_id, m.role, a.name AS account_name FROM memberships m "
        "JOIN accounts a ON a.id = m.account_id WHERE m.user_id = $1 ORDER BY m.created",
        user_id,
    )


async def members_page(account_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    args: list[Any] = [account_id]
    where = "m.account_id = $1"
    if after:
        args.append(after)
        where += f" AND m.id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch(
        "SELECT m.id, m.role, m.created, m.user_id, u.email, u.name, u.last_login_at "
        f"FROM memberships m JOIN users u ON u.id = m.user_id WHERE {where} ORDER BY m.id DESC LIMIT ${len(args)}",
        *args,
    )


async def member_for_update(account_id: str, membership_id: str) -> dict[str, Any] | None:
    return await db.fetchrow(
        "SELECT m.*, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.id = $1 AND m.account_id = $2 FOR UPDATE OF m",
        membership_id, account_id,
    )


async def lock_owners(account_id: str) -> list[dict[str, Any]]:
    """Lock the account's owner rows so two demotions cannot both pass the last-owner check."""
    return await db.fetch(
        "SELECT id FROM memberships WHERE account_id = $1 AND role = 'owner' ORDER BY id FOR UPDATE",
        account_id,
    )


async def invitations_page(account_id: str, after: str | None, limit: int) -> list[dict[str, Any]]:
    args: list[Any] = [account_id]
    where = "account_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()"
    if after:
        args.append(after)
        where += f" AND id < ${len(args)}"
    args.append(limit + 1)
    return await db.fetch(
        f"SELECT * FROM invitations WHERE {where} ORDER BY id DESC LIMIT ${len(args)}", *args
    )


async def invitation_by_hash(token_hash: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM invitations WHERE token_hash = $1 FOR UPDATE", token_hash)


async def invitation(account_id: str, invitation_id: str) -> dict[str, Any] | None:
    return await db.fetchrow("SELECT * FROM invitations WHERE id = $1 AND account_id = $2", invitation_id, account_id)


async def invitation_with_account(token_hash: str) -> dict[str, Any] | None:
    """An invitation by its token's hash, with the account's name and whether its email has a user."""
    return await db.fetchrow(
        "SELECT i.*, a.name AS account_name, (SELECT 1 FROM users u WHERE u.email = i.email) AS user_exists "
        "FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE token_hash = $1", token_hash)


async def insert_account(row: dict[str, Any]) -> None:
    await db.execute(db.insert_sql("accounts", list(row)), *row.values())


async def copy_accounts(columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """Many accounts at once, by COPY (demo sellers), in the caller's transaction."""
    async with db.transaction() as txn:
        await txn.connection.copy_records_to_table("accounts", records=records, columns=list(columns))


async def insert_user_if_absent(row: dict[str, Any]) -> dict[str, Any]:
    """Insert the user unless the email exists (also when another transaction just added it);
    returns the row that now holds the email."""
    await db.execute(
        "INSERT INTO users (id, email, name, password_hash, created) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (email) DO NOTHING",
        row["id"], row["email"], row["name"], row["password_hash"], row["created"],
    )
    user = await user_by_email(row["email"])
    assert user is not None
    return user


async def insert_membership(row: dict[str, Any]) -> None:
    await db.execute(db.insert_sql("memberships", list(row)), *row.values())


async def insert_invitation(row: dict[str, Any]) -> None:
    await db.execute(db.insert_sql("invitations", list(row)), *row.values())


async def update_account(account_id: str, values: dict[str, Any]) -> None:
    await db.execute(f"UPDATE accounts SET {db.set_sql(list(values), 2)} WHERE id = $1", account_id, *values.values())


async def update_account_returning(account_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Change the account's columns; the row after (no second read)."""
    row = await db.fetchrow(f"UPDATE accounts SET {db.set_sql(list(values), 2)} WHERE id = $1 RETURNING *",
                            account_id, *values.values())
    assert row is not None
    return row


async def update_membership(account_id: str, membership_id: str, values: dict[str, Any]) -> None:
    await db.execute(f"UPDATE memberships SET {db.set_sql(list(values), 3)} WHERE id = $1 AND account_id = $2",
                     membership_id, account_id, *values.values())


async def delete_membership(account_id: str, membership_id: str) -> None:
    await db.execute("DELETE FROM memberships WHERE id = $1 AND account_id = $2", membership_id, account_id)


async def update_invitation(invitation_id: str, values: dict[str, Any]) -> None:
    await db.execute(f"UPDATE invitations SET {db.set_sql(list(values), 2)} WHERE id = $1",
                     invitation_id, *values.values())


async def delete_test_rows(table: str, account_id: str) -> int:
    """Delete the account's test-mode rows of `table` (a name from the table registry); how many went."""
    row = await db.fetchrow(f'WITH d AS (DELETE FROM "{table}" WHERE account_id = $1 AND livemode = false '
                            "RETURNING 1) SELECT count(*) AS n FROM d", account_id)
    assert row is not None
    return int(row["n"])


async def set_last_login(user_id: str) -> None:
    await db.execute("UPDATE users SET last_login_at = now() WHERE id = $1", user_id)
