"""Uploaded files: dispute evidence sent by the merchant (Stripe's Files API, `purpose=dispute_evidence`).

The bytes are stored in PostgreSQL (`bytea`), not in a folder: several app
processes, on one machine or several sharing only the database, all serve
every file; a file commits or rolls back with its row (no orphan on disk, no
row without bytes); backups and "delete all test data" cover them; and 5 MB
files are small for PostgreSQL (TOAST compresses and stores them out of line).
The type is sniffed from the content (`sniff.py`); the name is only shown.
"""

from __future__ import annotations

import hashlib
import unicodedata

from server import clock, db
from server.context import RequestContext, Scope
from server.errors import InvalidRequest, NotFound
from server.files import queries
from server.files.rows import File, FileInfo
from server.files.sniff import sniff
from server.idempotency import effects
from server.ids import new_id
from server.pagination import Page, decode_cursor
from server.permissions import read, write

PURPOSES = ("dispute_evidence",)
MAX_FILENAME = 200


def clean_filename(value: object) -> str:
    """A name to show: its last path segment, printable characters only, at most MAX_FILENAME."""
    if not isinstance(value, str):
        return ""
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] not in ("C", "Z") or c == " ").strip()
    return name[:MAX_FILENAME]


def _purpose(value: object) -> str:
    if value not in PURPOSES:
        raise InvalidRequest(f"purpose must be one of: {', '.join(PURPOSES)}", param="purpose")
    assert isinstance(value, str)
    return value


async def create(ctx: RequestContext, purpose: object, filename: object, content: bytes) -> FileInfo:
    """Store an uploaded file after sniffing what it is: PDF, PNG or JPEG of at most 5 MB."""
    scope = ctx.require(write("files"))
    kind = sniff(content)
    made = File(id=new_id("file"), account_id=scope.account_id, livemode=scope.livemode, purpose=_purpose(purpose),
                filename=clean_filename(filename) or f"upload.{kind.extension}", type=kind.extension, mime=kind.mime,
                size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content, created=clock.now())
    step = effects.step("file")
    async with db.transaction():
        if done := await effects.recall(step):  # this request's upload committed before: return it
            found = await queries.get(scope, done["id"])
            assert found is not None
            return found
        info = await queries.insert(made)
        await effects.bind(step, "file", made.id)
    return info


async def get(ctx: RequestContext, file_id: str) -> FileInfo:
    scope = ctx.require(read("files"))
    found = await queries.get(scope, file_id)
    if found is None:
        raise NotFound(f"no such file: '{file_id}'", param="id")
    return found


async def content(ctx: RequestContext, file_id: str) -> File:
    """The file with its bytes, to download."""
    scope = ctx.require(read("files"))
    found = await queries.get_with_content(scope, file_id)
    if found is None:
        raise NotFound(f"no such file: '{file_id}'", param="id")
    return found


async def list_files(ctx: RequestContext, limit: int, cursor: str | None, purpose: str | None = None) -> Page[FileInfo]:
    scope = ctx.require(read("files"))
    if purpose is not None:
        _purpose(purpose)
    return Page.from_rows(await queries.list_files(scope, decode_cursor(cursor), limit, purpose), limit)


async def of_ids(scope: Scope, file_ids: list[str]) -> dict[str, FileInfo]:
    """The files among `file_ids` that exist in the scope (the caller checked its permission)."""
    return {f.id: f for f in await queries.of_ids(scope, file_ids)} if file_ids else {}


async def infos(ctx: RequestContext, file_ids: list[str]) -> list[FileInfo | None]:
    """Each file asked for, or None, in order: a nested GraphQL field (evidence files)."""
    found = await of_ids(ctx.require(read("files")), file_ids)
    return [found.get(file_id) for file_id in file_ids]
