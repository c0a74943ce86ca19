"""The JSON shape of an uploaded file (Stripe's File object; the bytes are never in it)."""

from __future__ import annotations

from typing import Any

from server.files.rows import FileInfo


def file_json(file: FileInfo) -> dict[str, Any]:
    return {"id": file.id, "object": "file", "purpose": file.purpose, "filename": file.filename, "type": file.type,
            "size": file.size, "sha256": file.sha256, "livemode": file.livemode,
            "created": int(file.created.timestamp())}
