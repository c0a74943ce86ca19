"""GraphQL queries of uploaded files (uploading is REST's: multipart does not travel in GraphQL JSON)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from server.files import service
from server.files.types import File
from server.gql.common import Connection, connection, ctx_of, first_arg, one_or_none


@strawberry.type
class FileQuery:
    @strawberry.field(description="Uploaded files of the current mode, newest first.")
    async def files(self, info: Info, first: int | None = None, after: str | None = None,
                    purpose: str | None = None) -> Connection[File]:
        page = await service.list_files(ctx_of(info), first_arg(first), after, purpose)
        return connection(page, File.from_row)

    @strawberry.field(description="One uploaded file of the current mode.")
    async def file(self, info: Info, id: strawberry.ID) -> File | None:
        return await one_or_none(File.from_row, service.get(ctx_of(info), str(id)))
