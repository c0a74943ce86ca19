"""GraphQL type of an uploaded file (uploads go through REST: `POST /v1/files`, multipart)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from server.files.rows import FileInfo
from server.ledger.types import Long


@strawberry.type(description="An uploaded file: dispute evidence (PDF, PNG or JPEG, at most 5 MB).")
class File:
    id: str = strawberry.field(description="`file_…`")
    purpose: str = strawberry.field(description="dispute_evidence.")
    filename: str = strawberry.field(description="The name it was uploaded with (shown only).")
    type: str = strawberry.field(description="What its content is: pdf, png or jpg.")
    size: Long = strawberry.field(description="Bytes.")  # type: ignore[valid-type]
    sha256: str = strawberry.field(description="SHA-256 of the content, hex.")
    livemode: bool = strawberry.field(description="The mode it lives in.")
    created: datetime = strawberry.field(description="When it was uploaded.")

    @classmethod
    def from_row(cls, row: FileInfo) -> File:
        return cls(id=row.id, purpose=row.purpose, filename=row.filename, type=row.type, size=row.size,
                   sha256=row.sha256, livemode=row.livemode, created=row.created)
