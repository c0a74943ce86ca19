"""REST: /v1/files: upload dispute evidence (multipart, Stripe's `purpose` + `file`), list, retrieve, download.

The one multipart route of the API: `server/request_guard.py` admits
`multipart/form-data` here only, with its own body limit (`UPLOAD_MAX_BODY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.context import RequestContext
from server.files import service
from server.files.serial import file_json
from server.files.sniff import UPLOAD_MAX_BODY
from server.pagination import decode_cursor, parse_limit
from server.rest import api_context, list_body


@dataclass
class FileUpload:
    purpose: str
    file: UploadFile


class FileController(Controller):
    path = "/v1/files"
    tags = ["files"]
    dependencies = {"ctx": Provide(api_context)}

    @post("/", status_code=200, request_max_body_size=UPLOAD_MAX_BODY,
          summary="Upload a file (multipart/form-data: purpose=dispute_evidence, file: PDF, PNG or JPEG ≤ 5 MB)")
    async def create(self, ctx: RequestContext,
                     data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]) -> dict[str, Any]:
        content = await data.file.read()
        return file_json(await service.create(ctx, data.purpose, data.file.filename, content))

    @get("/", summary="List uploaded files, newest first")
    async def list_(self, ctx: RequestContext, limit: str | None = None, cursor: str | None = None,
                    purpose: str | None = None) -> dict[str, Any]:
        page = await service.list_files(ctx, parse_limit(limit), decode_cursor(cursor), purpose)
        return list_body(page, file_json, "/v1/files")

    @get("/{file_id:str}", summary="Retrieve a file's details")
    async def retrieve(self, ctx: RequestContext, file_id: str) -> dict[str, Any]:
        return file_json(await service.get(ctx, file_id))

    @get("/{file_id:str}/contents", summary="Download a file's content", media_type="application/octet-stream")
    async def contents(self, ctx: RequestContext, file_id: str) -> Response[bytes]:
        return download(await service.content(ctx, file_id))


def download(file: Any) -> Response[bytes]:
    """The bytes, as the type they were sniffed to be, always as an attachment (never rendered in our origin)."""
    name = file.filename.replace('"', "").encode("ascii", "replace").decode()
    return Response(file.content, media_type=file.mime, headers={
        "content-disposition": f'attachment; filename="{name}"', "x-content-type-options": "nosniff",
        "cache-control": "private, no-store"})
