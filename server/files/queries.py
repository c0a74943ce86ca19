"""SQL of uploaded files. Every read takes a Scope; lists and lookups never read the bytes."""

from __future__ import annotations

from typing import Any

from server import db
from server.context import Scope
from server.files.rows import FILE_INFO_COLUMNS, File, FileInfo


async def insert(file: File) -> FileInfo:
    values = {name: getattr(file, name) for name in file.__struct_fields__}
    made = await db.fetchrow_as(FileInfo, db.insert_sql("files", list(values), f"RETURNING {FILE_INFO_COLUMNS}"),
                                *values.values())
    assert made is not None
    return made


async def get(scope: Scope, file_id: str) -> FileInfo | None:
    return await db.fetchrow_as(
        FileInfo, f"SELECT {FILE_INFO_COLUMNS} FROM files WHERE account_id = $1 AND livemode = $2 AND id = $3",
        scope.account_id, scope.livemode, file_id)


async def get_with_content(scope: Scope, file_id: str) -> File | None:
    return await db.fetchrow_as(File, "SELECT * FROM files WHERE account_id = $1 AND livemode = $2 AND id = $3",
                                scope.account_id, scope.livemode, file_id)


async def of_ids(scope: Scope, file_ids: list[str]) -> list[FileInfo]:
    return await db.fetch_as(
        FileInfo, f"SELECT {FILE_INFO_COLUMNS} FROM files WHERE account_id = $1 AND livemode = $2 "
        "AND id = ANY($3::varchar[])", scope.account_id, scope.livemode, file_ids)


async def list_files(scope: Scope, after: str | None, limit: int, purpose: str | None) -> list[FileInfo]:
    args: list[Any] = [scope.account_id, scope.livemode]
    where = ["account_id = $1", "livemode = $2"]
    for clause, value in (("id < ${}", after), ("purpose = ${}", purpose)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    return await db.fetch_as(FileInfo, f"SELECT {FILE_INFO_COLUMNS} FROM files WHERE {' AND '.join(where)} "
                             f"ORDER BY id DESC LIMIT ${len(args)}", *args)
