"""Typed rows of uploaded files (one field per column of db/tables/files.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class File(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    livemode: bool
    purpose: str
    filename: str
    type: str  # pdf, png, jpg: what the content is
    mime: str
    size: int
    sha256: str
    content: bytes
    created: datetime


class FileInfo(msgspec.Struct, kw_only=True):
    """A file without its bytes: what lists and evidence show."""

    id: str
    account_id: str
    livemode: bool
    purpose: str
    filename: str
    type: str
    mime: str
    size: int
    sha256: str
    created: datetime


FILE_INFO_COLUMNS = "id, account_id, livemode, purpose, filename, type, mime, size, sha256, created"
